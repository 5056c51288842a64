"""The public, read-only routes of the web face: dashboard, story pages, feeds, metrics, readiness.

- `GET /`: recent stories (filters `kind`, `jurisdiction`, `all`, `limit`) and the health of every source.
- `GET /stories/{id}`: one story with all its reports; 404 for an unknown id.
- `GET /feed.json`, `GET /feed.atom`: JSON Feed 1.1 and Atom 1.0 of recent stories, same filters, with
  an ETag (a hash of the body); a matching If-None-Match gets 304.
- `GET /metrics`: the Prometheus text format (`watcher.metrics`).
- `GET /readyz`: 200 once the daemon has started and the database answers, else 503.

Each answer is read and rendered in a worker thread, through that thread's read-only connection
(`store.views.Reader`): with 1,000 stories a page is 2-8 ms of work, which then never holds up the
pollers on the event loop. Every HTML page carries a Content-Security-Policy that allows no script.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from watcher import feeds, metrics, web_view
from watcher.feeds import QueryError, StoryQuery
from watcher.domain import SourceState
from watcher.store import views

log = logging.getLogger("watcher.web")

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
HTML_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
FEED_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"}


@dataclass
class Site:
    """What the public pages need: the store (read-only), the base of links, and the daemon's state."""

    reader: views.Reader
    templates: jinja2.Environment
    public_url: str
    ready: Callable[[], bool] = lambda: True
    latency: metrics.LatencyHistogram | None = None
    secrets: Sequence[str] = field(default_factory=tuple)  # values blanked out of anything shown
    clock: Callable[[], float] = time.time
    started_at: float | None = None
    # the configured sources' names: the state of a source removed from the config stays in the
    # store (re-adding it resumes without a new baseline) but is no longer shown; None shows all
    sources: frozenset[str] | None = None

    def configured(self, states: Sequence[SourceState]) -> list[SourceState]:
        return [s for s in states if self.sources is None or s.name in self.sources]


def _render(site: Site, template: str, **ctx: object) -> str:
    return site.templates.get_template(template).render(**ctx)


def _html(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8", headers=HTML_HEADERS)


def _error_page(site: Site, status: int, title: str, message: str) -> web.Response:
    return _html(status, _render(site, "web/error.html", title=title, message=message))


def _conditional(request: web.Request, body: bytes, content_type: str) -> web.Response:
    tag = feeds.etag(body)
    headers = {**FEED_HEADERS, "ETag": tag}
    if feeds.etag_matches(request.headers.get("If-None-Match"), tag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers={**headers, "Content-Type": content_type})


def add_routes(app: web.Application, site: Site) -> None:
    def stories_for(q: StoryQuery) -> Callable[[sqlite3.Connection], list]:
        def read(conn: sqlite3.Connection) -> list:
            keep = q.wants_place if q.jurisdictions else None
            return views.recent_stories(conn, kinds=q.kinds, alerted_only=not q.all, keep=keep, limit=q.limit)
        return read

    def dashboard_page(q: StoryQuery) -> Callable[[sqlite3.Connection], str]:
        def page(conn: sqlite3.Connection) -> str:
            d = web_view.dashboard(stories_for(q)(conn), site.configured(views.source_health(conn)), q, site.secrets)
            return _render(site, "web/dashboard.html", d=d)
        return page

    async def dashboard(request: web.Request) -> web.Response:
        try:
            q = StoryQuery.parse(request.query)
        except QueryError as e:
            return _error_page(site, 400, "Filter not understood", str(e))
        return _html(200, await site.reader.run(dashboard_page(q)))

    async def story(request: web.Request) -> web.Response:
        def page(conn: sqlite3.Connection, story_id: str) -> str | None:
            s = views.story(conn, story_id)
            return None if s is None else _render(site, "web/story.html", s=web_view.story_view(s))

        body = await site.reader.run(page, request.match_info["id"])
        if body is None:
            return _error_page(site, 404, "No such story", "There is no story with that id.")
        return _html(200, body)

    def feed_url(path: str, q: StoryQuery) -> str:
        params = q.params()
        return site.public_url.rstrip("/") + path + ("?" + urlencode(params) if params else "")

    async def feed(request: web.Request, atom: bool) -> web.Response:
        try:
            q = StoryQuery.parse(request.query)
        except QueryError as e:
            return web.Response(status=400, text=str(e), headers=FEED_HEADERS)
        def build(conn: sqlite3.Connection) -> bytes:
            stories = stories_for(q)(conn)
            if atom:
                return feeds.atom_feed(stories, site.public_url, feed_url("/feed.atom", q))
            return feeds.json_body(feeds.json_feed(stories, site.public_url, feed_url("/feed.json", q)))

        body = await site.reader.run(build)
        return _conditional(request, body, "application/atom+xml; charset=utf-8" if atom
                            else "application/feed+json; charset=utf-8")

    async def json_feed(request: web.Request) -> web.Response:
        return await feed(request, atom=False)

    async def atom_feed(request: web.Request) -> web.Response:
        return await feed(request, atom=True)

    async def prometheus(request: web.Request) -> web.Response:
        def build(conn: sqlite3.Connection) -> str:
            c = views.counts(conn)
            c = dataclasses.replace(c, sources=site.configured(c.sources))
            return metrics.render(c, site.latency, site.clock(), site.started_at)

        text = await site.reader.run(build)
        return web.Response(text=text, headers={"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"})

    async def readyz(request: web.Request) -> web.Response:
        if not site.ready():
            return web.json_response({"status": "starting or stopping"}, status=503, headers={"Cache-Control": "no-store"})
        try:
            await site.reader.run(views.ping)
        except sqlite3.Error as e:
            log.warning("readiness: database not answering", extra={"error": str(e)})
            return web.json_response({"status": "database not answering"}, status=503, headers={"Cache-Control": "no-store"})
        return web.json_response({"status": "ready"}, headers={"Cache-Control": "no-store"})

    app.router.add_get("/", dashboard)
    app.router.add_get("/stories/{id}", story)
    app.router.add_get("/feed.json", json_feed)
    app.router.add_get("/feed.atom", atom_feed)
    app.router.add_get("/metrics", prometheus)
    app.router.add_get("/readyz", readyz)
    app.on_cleanup.append(_close(site))


def _close(site: Site) -> Callable[[web.Application], object]:
    async def close(app: web.Application) -> None:
        site.reader.close()
    return close
