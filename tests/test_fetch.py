"""The fetcher against a real local server: caps, timeouts, redirects, politeness."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.feedserver import Route
from watcher.config import FetchSettings
from watcher.domain import FetchStatus
from watcher.fetch import Fetcher, parse_retry_after
from watcher.poll import backoff_delay

FAST = FetchSettings(timeout=3, connect_timeout=2, read_timeout=2, host_spacing=0, per_host=8, max_bytes=1_000_000)


def fetch(url: str, settings: FetchSettings = FAST, **kw):
    async def go():
        async with Fetcher(settings, "test-agent/1") as f:
            return await f.get(url, **kw)

    return asyncio.run(go())


def test_conditional_get_and_unchanged_body(feed_server):
    feed_server.routes["/f"] = Route(b"<rss/>")
    first = fetch(feed_server.url("/f"))
    assert first.status is FetchStatus.OK and first.etag and first.body == b"<rss/>"
    again = fetch(feed_server.url("/f"), etag=first.etag)
    assert again.status is FetchStatus.NOT_MODIFIED and again.http_status == 304
    same = fetch(feed_server.url("/f"), previous_hash=first.body_hash)  # no validator, same bytes
    assert same.status is FetchStatus.NOT_MODIFIED and same.http_status == 200
    assert feed_server.requests[0][1]["user-agent"] == "test-agent/1"


def test_gzip_bomb_is_capped_as_it_inflates(feed_server):
    feed_server.routes["/bomb"] = Route(mode="gzip_bomb", huge_bytes=200_000_000)
    patient = FetchSettings(timeout=60, connect_timeout=10, read_timeout=30, host_spacing=0, max_bytes=1_000_000)
    r = fetch(feed_server.url("/bomb"), patient)  # only the cap may stop it, however slow the machine
    assert r.status is FetchStatus.FAILED and "cap" in r.error


def test_declared_oversize_is_refused_before_reading(feed_server):
    feed_server.routes["/big"] = Route(b"x" * 2_000_000)
    r = fetch(feed_server.url("/big"))
    assert r.status is FetchStatus.FAILED and "2,000,000 bytes exceeds" in r.error


def test_slow_sender_hits_the_total_timeout(feed_server):
    feed_server.routes["/slow"] = Route(b"<rss>" + b" " * 100, mode="trickle")
    t = time.monotonic()
    r = fetch(feed_server.url("/slow"))
    assert r.status is FetchStatus.FAILED and "timed out" in r.error
    assert time.monotonic() - t < 6


def test_redirect_loop_is_bounded(feed_server):
    feed_server.routes["/loop"] = Route(mode="redirect_loop")
    r = fetch(feed_server.url("/loop"))
    assert r.status is FetchStatus.FAILED and "redirects" in r.error
    assert feed_server.hits["/loop"] == FAST.max_redirects + 1


def test_retry_after_is_read(feed_server):
    feed_server.routes["/busy"] = Route(status=429, headers={"Retry-After": "120"})
    r = fetch(feed_server.url("/busy"))
    assert r.status is FetchStatus.FAILED and r.retry_after == 120 and r.transient
    assert backoff_delay(1, 60, 3600, 0.0, r.retry_after) == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480 - 60) == 60


def test_backoff_grows_and_is_capped():
    delays = [backoff_delay(n, 60, 3600, 0.5, None) for n in range(1, 10)]
    assert delays[:4] == [60, 120, 240, 480] and max(delays) == 3600
    assert backoff_delay(1, 60, 3600, 0.0, None) == 30 and backoff_delay(1, 60, 3600, 0.999, None) < 90


def test_connection_refused_is_a_failure_not_an_exception():
    r = fetch("http://127.0.0.1:9/feed")
    assert r.status is FetchStatus.FAILED and r.transient


def test_per_host_limit_and_spacing():
    in_flight, peak, starts = 0, 0, []

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        starts.append(time.monotonic())
        await asyncio.sleep(0.05)
        in_flight -= 1
        return httpx.Response(200, content=b"ok")

    settings = FetchSettings(per_host=2, host_spacing=0.02)

    async def go():
        async with Fetcher(settings, "t", transport=httpx.MockTransport(handler)) as f:
            await asyncio.gather(*(f.get(f"http://one.example/{i}") for i in range(8)))

    asyncio.run(go())
    assert peak == 2
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.015
