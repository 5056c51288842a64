"""Sending webhooks: one POST per attempt, to a vetted and pinned address, every failure mapped here once.

The request goes straight to one shared httpx transport (the one-method seam,
`handle_async_request`: aiohttp's connection pool through httpx-aiohttp by
default; tests may inject `httpx.MockTransport`). Redirects are never followed,
since a transport does not follow them; an attempt has `timeout` seconds in all,
connect to answer, after an address lookup that has `timeout` seconds too (so
no attempt outlasts its claim: deliver/lease.py). The host is resolved and checked (`guard.vet`), then the URL
is rewritten to the checked address with the original `Host` header and, for
https, the original name for SNI and certificate checks, so what was checked is
what is connected to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence

import httpx

from watcher.config import Webhook, WebhookSettings
from watcher.deliver import guard
from watcher.deliver.policy import Attempt
from watcher.deliver.webhooks import headers as signed_headers
from watcher.deliver.webhooks import secret_key
from watcher.domain import Delivery
from watcher.fetch import parse_retry_after
from watcher.transport import aiohttp_transport, cause, timed_out

ANSWER_BYTES = 64 * 1024  # of a response body, read (so the connection can be reused) and kept for the operator
RESOLVE_TTL = 60.0  # seconds a vetted lookup is reused


class WebhookSender:
    """POSTs bodies to endpoints. Use as `async with WebhookSender(settings, ua) as s:`."""

    def __init__(
        self,
        settings: WebhookSettings,
        user_agent: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolve: guard.Resolver = guard.system_resolver,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.user_agent = user_agent
        self._transport = transport or aiohttp_transport(512)
        self._resolve = resolve
        self._clock = clock
        self._lookups: dict[tuple[str, int], tuple[float, list[str]]] = {}

    async def __aenter__(self) -> WebhookSender:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def _cached_resolve(self, host: str, port: int) -> Sequence[str]:
        now = self._clock()
        hit = self._lookups.get((host, port))
        if hit is not None and hit[0] > now:
            return hit[1]
        found = list(await self._resolve(host, port))
        self._lookups[(host, port)] = (now + RESOLVE_TTL, found)
        return found

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], *, allow_private: bool = False) -> Attempt:
        """One attempt; never raises for anything the network or the endpoint did."""
        try:
            target = httpx.URL(url)
            host = target.host
            port = target.port or (443 if target.scheme == "https" else 80)
            async with asyncio.timeout(self.settings.timeout):  # the lookup too is bounded (deliver/lease.py)
                addresses = await guard.vet(host, port, allow_private, self._cached_resolve)
        except TimeoutError:
            return Attempt(ok=False, error=f"cannot resolve {host}: no answer within {self.settings.timeout:g}s",
                           sent=False)
        except guard.Refused as e:
            return Attempt(ok=False, error=str(e), sent=False)
        except (LookupError, httpx.InvalidURL) as e:
            return Attempt(ok=False, error=str(e), sent=False)
        pinned = target.copy_with(host=str(addresses[0]))
        extensions: dict[str, object] = {
            "timeout": dict.fromkeys(("connect", "read", "write", "pool"), self.settings.timeout)
        }
        if target.scheme == "https":
            extensions["sni_hostname"] = host
        request = httpx.Request(
            "POST",
            pinned,
            headers={"Host": target.netloc.decode("ascii"), "User-Agent": self.user_agent, **headers},
            content=body,
            extensions=extensions,
        )
        try:
            async with asyncio.timeout(self.settings.timeout):
                response = await self._transport.handle_async_request(request)
                try:
                    answer = await _read_some(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException) as e:
            if timed_out(e):
                return Attempt(ok=False, error=f"no answer within {self.settings.timeout:g}s")
            return Attempt(ok=False, error=cause(e))
        except (httpx.HTTPError, OSError) as e:
            return Attempt(ok=False, error=cause(e))
        return judge(response.status_code, response.headers, answer, time.time())


async def _read_some(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= ANSWER_BYTES:
            break
    return b"".join(chunks)[:ANSWER_BYTES]


def judge(status: int, headers: Mapping[str, str], answer: bytes, now: float) -> Attempt:
    """An HTTP answer -> an Attempt: only 2xx is success; 410 disables; 429 and 503 carry Retry-After."""
    text = answer.decode("utf-8", "replace")
    if 200 <= status < 300:
        return Attempt(ok=True, status=status, answer=text)
    snippet = " ".join(text.split())[:120]
    error = f"HTTP {status}" + (f": {snippet}" if snippet else "")
    if 300 <= status < 400:
        location = headers.get("location", "")
        return Attempt(ok=False, status=status, error=f"HTTP {status}: redirect to {location[:200]} (not followed)",
                       answer=text)
    if status == 410:
        return Attempt(ok=False, status=status, error=error, gone=True, answer=text)
    retry_after = parse_retry_after(headers.get("retry-after"), now) if status in (429, 503) else None
    return Attempt(ok=False, status=status, error=error, retry_after=retry_after, answer=text)


class WebhookChannel:
    """The `webhook` channel of the outbox: signs each attempt and sends it through a WebhookSender.

    Every attempt carries `webhook-id` (the delivery's id) and `webhook-timestamp`
    (now); standard endpoints with a `secret_env` also get `webhook-signature`, one
    signature per secret in it (space-separated during a rotation). Slack endpoints
    are not signed (Slack does not check signatures).
    """

    name = "webhook"

    def __init__(
        self,
        hooks: Sequence[Webhook],
        secrets: Mapping[str, str],
        sender: WebhookSender,
        *,
        clock: Callable[[], float] = time.time,
    ):
        self.hooks = {h.name: h for h in hooks if h.enabled}
        self.sender = sender
        self.clock = clock
        self._keys = {
            h.name: tuple(secret_key(s) for s in secrets.get(h.secret_env, "").split())
            if h.secret_env and h.format == "standard"
            else ()
            for h in self.hooks.values()
        }

    def targets(self) -> list[str]:
        return list(self.hooks)

    async def send(self, delivery: Delivery) -> Attempt:
        hook = self.hooks.get(delivery.target)
        if hook is None:
            return Attempt(ok=False, error=f"no enabled webhook named {delivery.target!r} in the config", sent=False)
        return await self.post(hook, delivery.id, delivery.payload.encode("utf-8"))

    async def post(self, hook: Webhook, msg_id: str, body: bytes) -> Attempt:
        hdrs = signed_headers(msg_id, int(self.clock()), body, self._keys.get(hook.name, ()))
        return await self.sender.post(hook.url, body, hdrs, allow_private=hook.allow_private)
