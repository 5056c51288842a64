"""The one shared HTTP client for polling sources.

Conditional GET, a streamed size cap, connect/read/total timeouts, bounded
redirects, per-host concurrency and spacing. Every way a fetch can fail is
mapped here, once, to a FetchResult with status FAILED: callers never see an
exception from the network.

httpx gives the request and response model, content decoding and the error
tree; requests go straight to one shared transport (`handle_async_request`, the
one-method seam), which by default runs over aiohttp's connection pool through
httpx-aiohttp. Measured on 2,000 local 304s (bench/bench_poll.py): httpx's
AsyncClient layer on top (cookies, auth, hooks, request building) cost ~0.8 ms a
request, more than the whole poll of a 304 source may take, so it is not used
here; redirects are followed below, bounded. Tests inject `httpx.MockTransport`
or talk to a real local server.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from watcher.config import FetchSettings
from watcher.domain import FetchResult, FetchStatus
from watcher.transport import aiohttp_transport, cause, timed_out


class HostGate:
    """At most `limit` requests in flight to one host, starts `spacing` apart."""

    def __init__(self, limit: int, spacing: float, clock: Callable[[], float]):
        self._sem = asyncio.Semaphore(limit)
        self._spacing = spacing
        self._clock = clock
        self._next_start = 0.0

    async def __aenter__(self) -> None:
        await self._sem.acquire()
        if self._spacing > 0:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self._spacing
            if start > now:
                await asyncio.sleep(start - now)

    async def __aexit__(self, *exc: object) -> None:
        self._sem.release()


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait, from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError):
        return None


def body_hash(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class TooLarge(Exception):
    pass


class TooManyRedirects(Exception):
    pass


REDIRECTS = frozenset({301, 302, 303, 307, 308})


class Fetcher:
    """Polls URLs politely. Use as `async with Fetcher(settings, ua) as f:`."""

    def __init__(
        self,
        settings: FetchSettings,
        user_agent: str,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self.settings = settings
        self._clock = clock
        self._wall = wall_clock
        self._gates: dict[str, HostGate] = {}
        self._urls: dict[str, httpx.URL] = {}
        self._all = asyncio.Semaphore(settings.concurrency)
        self._transport = transport or aiohttp_transport(settings.concurrency)
        self._base_headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}
        self._timeouts = {
            "timeout": {
                "connect": settings.connect_timeout,
                "read": settings.read_timeout,
                "write": settings.read_timeout,
                "pool": settings.timeout,
            }
        }

    async def __aenter__(self) -> "Fetcher":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    def _parsed(self, url: str) -> httpx.URL:
        """httpx.URL of a source URL, parsed once: the same URLs are fetched every cycle."""
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) > 10_000:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    def _gate(self, url: str) -> HostGate:
        host = (urlsplit(url).hostname or "").lower()
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = HostGate(self.settings.per_host, self.settings.host_spacing, self._clock)
        return gate

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        previous_hash: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> FetchResult:
        request_headers = dict(headers or {})
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        started = self._clock()
        try:
            async with self._all, self._gate(url):
                started = self._clock()
                async with asyncio.timeout(self.settings.timeout):
                    return await self._get(url, request_headers, previous_hash, started)
        except TimeoutError:
            return self._failed(f"timed out after {self.settings.timeout:g}s", started)
        except TooLarge as e:
            return self._failed(str(e), started, transient=False)
        except TooManyRedirects:
            return self._failed(f"more than {self.settings.max_redirects} redirects", started, transient=False)
        except httpx.HTTPError as e:
            return self._failed(f"timed out ({cause(e)})" if timed_out(e) else cause(e), started)
        except (OSError, ValueError) as e:  # bad URLs, sockets, decoders
            return self._failed(f"{type(e).__name__}: {e}"[:300], started)

    async def _get(self, url: str, headers: dict[str, str], previous_hash: str | None, started: float) -> FetchResult:
        cap = self.settings.max_bytes
        for _ in range(self.settings.max_redirects + 1):
            request = httpx.Request("GET", self._parsed(url), headers={**self._base_headers, **headers}, extensions=self._timeouts)
            r = await self._transport.handle_async_request(request)
            try:
                location = r.headers.get("location")
                if r.status_code not in REDIRECTS or not location:
                    return await self._read(r, url, previous_hash, started, cap)
            finally:
                await r.aclose()
            url = urljoin(url, location)
        raise TooManyRedirects(url)

    async def _read(self, r: httpx.Response, url: str, previous_hash: str | None, started: float, cap: int) -> FetchResult:
        if r.status_code == 304:
            return FetchResult(
                FetchStatus.NOT_MODIFIED,
                etag=r.headers.get("etag"),
                last_modified=r.headers.get("last-modified"),
                http_status=304,
                elapsed=self._clock() - started,
                final_url=url,
            )
        if r.status_code != 200:
            transient = r.status_code >= 500 or r.status_code in (408, 425, 429)
            return FetchResult(
                FetchStatus.FAILED,
                http_status=r.status_code,
                error=f"HTTP {r.status_code}",
                transient=transient,
                retry_after=parse_retry_after(r.headers.get("retry-after"), self._wall()),
                elapsed=self._clock() - started,
                final_url=url,
            )
        declared = r.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise TooLarge(f"body of {int(declared):,} bytes exceeds the {cap:,}-byte cap")
        chunks, size = [], 0
        async for chunk in r.aiter_bytes():  # decoded: a gzip bomb is counted as it inflates
            size += len(chunk)
            if size > cap:
                raise TooLarge(f"body exceeds the {cap:,}-byte cap")
            chunks.append(chunk)
        body = b"".join(chunks)
        digest = body_hash(body)
        status = FetchStatus.NOT_MODIFIED if digest == previous_hash else FetchStatus.OK
        return FetchResult(
            status,
            body=body if status is FetchStatus.OK else b"",
            content_type=r.headers.get("content-type", ""),
            etag=r.headers.get("etag"),
            last_modified=r.headers.get("last-modified"),
            body_hash=digest,
            http_status=200,
            elapsed=self._clock() - started,
            final_url=url,
        )

    def _failed(self, error: str, started: float, transient: bool = True) -> FetchResult:
        return FetchResult(FetchStatus.FAILED, error=error, transient=transient, elapsed=self._clock() - started)
