"""`watcher demo`: the daemon on bundled recordings of the real sources, with no network at all.

The real watch list (the embedded `sources.yaml`) is taken as it is, but each
source whose recording ships in `watcher/recordings/` points at a fake host and
is polled every two seconds. Requests to that host never leave the process:
`ReplayTransport` (the fetcher's one-method seam, `handle_async_request`)
answers them from the recordings, with ETags and 304s. Each source's first
answer is its recording as captured (the silent baseline); afterwards the
`TIMELINE` releases new items, a few seconds apart: a DOJ letter to named
cities, two news copies of it, a court ruling, and a wildlife-sanctuary story
that must not alert.

Digests go to `<state>/outbox/*.eml` (one subscriber, `immediate`). Webhooks go
to a sink served in the same process on 127.0.0.1, which verifies each request
with the `standardwebhooks` package and logs `webhook verified` with the story
title. The signing secret is generated at start, passed to the config as an
environment mapping, and never printed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import secrets
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path

import httpx
import yaml
from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from watcher.config import DEFAULT_CONFIG, Config, parse_config

log = logging.getLogger("watcher.demo")

RECORDINGS = Path(__file__).with_name("recordings")
HOST = "demo.sanctuary-watch.invalid"  # .invalid never resolves: nothing could reach a real server
SUBSCRIBER = "desk@demo.sanctuary-watch.invalid"
SECRET_ENV = "DEMO_WEBHOOK_SECRET"
MARKER = "DEMO"  # a state directory the demo made, and may wipe

XML = "application/rss+xml; charset=utf-8"
# source name in the real watch list -> the recording that stands for it, and its content type
REPLAYED: dict[str, tuple[str, str]] = {
    "doj-api": ("doj_api.json", "application/json"),
    "doj-press": ("doj_rss.xml", XML),
    "doj-sanctuary-list": ("doj_sanctuary_list_v1.html", "text/html; charset=utf-8"),
    "ice-ero": ("ice_news_356.xml", XML),
    "ice-newsroom": ("ice_newsroom.html", "text/html; charset=utf-8"),
    "federal-register": ("fr_documents.json", "application/json"),
    "whitehouse-actions": ("whitehouse_actions.xml", XML),
    "courtlistener": ("courtlistener_feed.xml", "application/atom+xml; charset=utf-8"),
    "govinfo-ca9": ("govinfo_ca9.xml", XML),
    "google-news": ("google_news.xml", XML),
}


# --- the timeline: new items, in the form of the recording they are added to ---------------------


def _rss_item(title: str, link: str, description: str, guid: str, creator: str) -> Callable[[datetime], str]:
    def render(published: datetime) -> str:
        return (f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
                f"<description>{escape(description)}</description><pubDate>{format_datetime(published)}</pubDate>"
                f"<dc:creator>{escape(creator)}</dc:creator><guid isPermaLink=\"false\">{escape(guid)}</guid></item>\n")
    return render


def _news_item(headline: str, publisher: str, site: str, token: str) -> Callable[[datetime], str]:
    """A Google News search result: "Headline - Publisher", an opaque link, the token as guid."""
    def render(published: datetime) -> str:
        link = f"https://news.google.com/rss/articles/{token}?oc=5"
        description = (f'<a href="{link}" target="_blank">{escape(headline)}</a>&nbsp;&nbsp;'
                       f'<font color="#6f6f6f">{escape(publisher)}</font>')
        return (f"<item><title>{escape(f'{headline} - {publisher}')}</title><link>{link}</link>"
                f'<guid isPermaLink="false">{token}</guid><pubDate>{format_datetime(published, usegmt=True)}</pubDate>'
                f'<description>{escape(description)}</description><source url="{site}">{escape(publisher)}</source></item>')
    return render


def _atom_entry(title: str, link: str, court: str, summary: str) -> Callable[[datetime], str]:
    """A CourtListener search-feed entry (Atom)."""
    def render(published: datetime) -> str:
        html = f"<p>{escape(summary)}</p><br>\n    <a href=\"{link}\">Original document</a>"
        return (f'<entry><title>{escape(title)}</title><link href="{link}" rel="alternate"/>'
                f"<published>{published.isoformat(timespec='seconds')}</published><author><name>{escape(court)}</name>"
                f"</author><id>{link}</id><summary type=\"html\">{escape(html)}</summary></entry>\n")
    return render


@dataclass(frozen=True)
class Release:
    at: float  # seconds after the demo starts
    source: str
    title: str
    render: Callable[[datetime], str]  # the item's markup, given its publication time
    alerts: bool = True


LETTER = "Attorney General Sends Letters to Denver, Seattle and Portland Demanding an End to Sanctuary Policies"
RULING = "City of Minneapolis v. Bondi"
WILDLIFE = "Wildlife sanctuary near Denver takes in three rescued black bears"

TIMELINE: tuple[Release, ...] = (
    Release(6, "doj-press", LETTER, _rss_item(
        LETTER, "https://www.justice.gov/opa/pr/attorney-general-sends-letters-denver-seattle-and-portland",
        "The Attorney General today sent letters to the mayors of Denver, Colorado; Seattle, Washington; and "
        "Portland, Oregon, demanding that the cities end sanctuary policies that shield criminal aliens from "
        "federal immigration enforcement, and warning that the Department will pursue all legal remedies, "
        "including withholding federal grants.",
        "1419001 at https://www.justice.gov", "Office of Public Affairs")),
    Release(12, "google-news", "DOJ sends letters to Denver, Seattle and Portland over sanctuary policies", _news_item(
        "DOJ sends letters to Denver, Seattle and Portland over sanctuary policies", "The Denver Post",
        "https://www.denverpost.com", "CBMirAFBVV95cUxPZGVtb0xldHRlckRlbnZlclBvc3QxMjM0NTY3ODkw")),
    Release(18, "google-news", "Justice Department letters to Seattle, Portland and Denver demand end to sanctuary "
            "policies", _news_item(
        "Justice Department letters to Seattle, Portland and Denver demand end to sanctuary policies",
        "The Seattle Times", "https://www.seattletimes.com",
        "CBMirAFBVV95cUxPZGVtb0xldHRlclNlYXR0bGVUaW1lczA5ODc2NTQzMjE")),
    Release(24, "courtlistener", RULING, _atom_entry(
        RULING, "https://www.courtlistener.com/opinion/11230001/city-of-minneapolis-v-bondi/",
        "District Court, D. Minnesota",
        "ORDER granting preliminary injunction. The court enjoins the Department of Justice from enforcing "
        "immigration-related conditions on Byrne JAG grants to the City of Minneapolis, finding the conditions "
        "that target sanctuary jurisdictions likely unlawful under the Spending Clause.")),
    Release(30, "google-news", WILDLIFE, _news_item(
        WILDLIFE, "The Denver Post", "https://www.denverpost.com",
        "CBMirAFBVV95cUxPZGVtb1dpbGRsaWZlU2FuY3R1YXJ5QmVhcnM1NTU1NTU"), alerts=False),
)


def _insert(base: str, entries: list[str]) -> str:
    """The recording with `entries` before its first item (RSS) or entry (Atom), newest first."""
    if not entries:
        return base
    for tag in ("<item>", "<entry>"):
        i = base.find(tag)
        if i >= 0:
            return base[:i] + "".join(entries) + base[i:]
    raise ValueError("no <item> or <entry> to insert before")


class ReplayTransport(httpx.AsyncBaseTransport):
    """Serves `https://HOST/<source>` from the recordings, with ETags and 304s, releasing TIMELINE items.

    A source's first answer is always its recording as captured, so what the timeline
    releases is new to a baselined source; a release is served once the demo is `at`
    seconds old. Anything else gets a 404."""

    def __init__(self, timeline: tuple[Release, ...] = TIMELINE, *, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time):
        self.timeline = timeline
        self._clock = clock
        self._wall = wall_clock
        self._start = clock()
        self._seen: set[str] = set()  # sources that got their baseline
        self._released: dict[int, datetime] = {}  # index in timeline -> its publication time
        self._base = {name: (RECORDINGS / file).read_text(encoding="utf-8") for name, (file, _) in REPLAYED.items()}

    def _body(self, name: str) -> str:
        if name not in self._seen:
            self._seen.add(name)
            return self._base[name]
        age = self._clock() - self._start
        entries = []
        for i, r in enumerate(self.timeline):
            if r.source != name or r.at > age:
                continue
            if i not in self._released:
                self._released[i] = datetime.fromtimestamp(self._wall(), tz=timezone.utc).replace(microsecond=0)
                log.info("demo item released", extra={"source": name, "title": r.title, "alerts": r.alerts})
            entries.insert(0, r.render(self._released[i]))  # newest first, as feeds list them
        return _insert(self._base[name], entries)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = request.url.path.strip("/")
        if request.url.host != HOST or name not in REPLAYED:
            return httpx.Response(404, request=request)
        body = self._body(name).encode("utf-8")
        etag = f'"{hashlib.blake2b(body, digest_size=8).hexdigest()}"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"ETag": etag}, request=request)
        return httpx.Response(200, headers={"ETag": etag, "Content-Type": REPLAYED[name][1]}, content=body,
                              request=request)


# --- the webhook sink ------------------------------------------------------------------------------


class WebhookSink:
    """An endpoint on 127.0.0.1 that verifies each event as a newsroom would, and logs it."""

    def __init__(self, secret: str):
        self._verifier = Webhook(secret)
        self.verified = 0
        self.rejected = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = self._verifier.verify(body, dict(request.headers))
        except WebhookVerificationError as e:
            self.rejected += 1
            log.warning("webhook rejected", extra={"reason": str(e)})
            return web.Response(status=401)
        self.verified += 1
        data = event.get("data", {}) if isinstance(event, dict) else {}
        log.info("webhook verified", extra={"type": event.get("type"), "story": data.get("title"),
                                            "kind": data.get("kind"), "items": len(data.get("items", []))})
        return web.Response(status=204)

    @contextlib.asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serves on a free port of 127.0.0.1 until the block ends; yields the endpoint's URL."""
        app = web.Application()
        app.router.add_post("/hooks/demo", self.handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            host, port = runner.addresses[0][:2]
            yield f"http://{host}:{port}/hooks/demo"
        finally:
            await runner.cleanup()


# --- the config and the run ------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def free_listen(listen: str) -> str:
    """HOST:PORT with port 0 replaced by a port free now (so the printed address is the real one)."""
    host, _, port = listen.rpartition(":")
    if port != "0":
        return listen
    bare = host.strip("[]") or "127.0.0.1"
    with socket.socket(socket.AF_INET6 if ":" in bare else socket.AF_INET) as s:
        s.bind((bare, 0))
        return f"{host}:{s.getsockname()[1]}"


def demo_config(listen: str, sink_url: str, env: Mapping[str, str]) -> Config:
    """The real watch list, replayed: every source with a recording, polled every 2 s from the fake host."""
    real = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    sources = [{**raw, "url": f"https://{HOST}/{raw['name']}", "every": "2s", "enabled": True}
               for raw in real["sources"] if raw["name"] in REPLAYED]
    host, _, port = listen.rpartition(":")
    shown = "127.0.0.1" if host.strip("[]") in ("", "0.0.0.0", "::") else host
    doc = {
        "settings": {
            "public_url": f"http://{shown}:{port}",
            "listen": listen,
            "timezone": real.get("settings", {}).get("timezone", "America/New_York"),
            "fetch": {"timeout": "5s", "host_spacing": "0s", "per_host": 16},
            "webhooks": {"retry": ["1s", "2s", "5s"], "jitter": 0},
        },
        "sources": sources,
        "subscribers": [{"email": SUBSCRIBER, "schedule": "immediate"}],
        "webhooks": [{"name": "demo-sink", "url": sink_url, "secret_env": SECRET_ENV, "allow_private": True}],
    }
    return parse_config(yaml.safe_dump(doc, sort_keys=False), "demo (in memory)", env)


class NotADemoState(Exception):
    """The state directory holds a database the demo did not make."""


def prepare_state(state: Path) -> None:
    """A fresh demo state: the demo's own directory is wiped, any other one with a database refused."""
    if (state / "watcher.sqlite3").exists() and not (state / MARKER).exists():
        raise NotADemoState(f"{state} holds a database the demo did not make; pick another --state")
    if (state / MARKER).exists():
        for p in state.glob("watcher.sqlite3*"):
            p.unlink()
        shutil.rmtree(state / "outbox", ignore_errors=True)
    state.mkdir(parents=True, exist_ok=True)
    (state / MARKER).write_text("made by `watcher demo`; wiped at each start\n")


def explain(state: Path, listen: str, duration: float | None) -> str:
    host, _, port = listen.rpartition(":")
    shown = "127.0.0.1" if host.strip("[]") in ("", "0.0.0.0", "::") else host
    end = f"It stops by itself after {duration:g} s." if duration else "Stop it with Ctrl-C."
    return (
        f"Sanctuary Watch demo: dashboard at http://{shown}:{port}/\n\n"
        f"The daemon is watching {len(REPLAYED)} of the real sources (DOJ, ICE, the Federal Register, the White "
        "House, the courts, Google News), replayed from recordings bundled with the package: nothing goes to "
        "the network. Each source is polled every 2 s; its first poll is a silent baseline. Over the next "
        f"{TIMELINE[-1].at:g} s new items appear: a DOJ letter to Denver, Seattle and Portland, two news "
        "reports of it (they join the letter's story), a court ruling, and a wildlife-sanctuary story that is "
        f"classified as not relevant and alerts no one. Digests for one subscriber ({SUBSCRIBER}, immediate) "
        f"are written to {state / 'outbox'}/*.eml; signed webhooks go to a built-in sink that verifies them "
        f"and logs \"webhook verified\" below. State is kept in {state} (never ./state), and wiped at each "
        f"start. {end}"
    )


async def run_demo(state: Path, listen: str, duration: float | None = None, *, out: Callable[[str], None] = print) -> int:
    from watcher.app import Daemon, run_daemon

    secret = new_secret()
    sink = WebhookSink(secret)
    listen = free_listen(listen)
    async with sink.serve() as sink_url:
        config = demo_config(listen, sink_url, {SECRET_ENV: secret})

        def started(daemon: Daemon) -> None:
            if duration is not None:
                asyncio.get_running_loop().call_later(duration, daemon.stopping.set)

        out(explain(state, listen, duration))
        await run_daemon(config, state, transport=ReplayTransport(), on_start=started)
    digests = len(list((state / "outbox").glob("*.eml")))
    out(f"demo stopped: {sink.verified} webhook events verified ({sink.rejected} rejected), "
        f"{digests} digests in {state / 'outbox'}")
    return 0 if sink.rejected == 0 else 1
