"""The HTTP face of `watcher run` (aiohttp): health, the unsubscribe page, and (given a `Site`) the
public read-only pages of `web_pages`: dashboard, story pages, feeds, metrics, readiness (docs/web.md).

- `GET /healthz`: `{"status": "ok"}` while the process is alive.
- `GET /unsubscribe?token=T`: a confirmation page with a button; changes nothing
  (mail scanners follow links).
- `POST /unsubscribe?token=T`: unsubscribes and answers with a page saying so:
  no redirect, no cookie. This is also RFC 8058's one-click request (a mail
  client POSTs `List-Unsubscribe=One-Click` to the List-Unsubscribe URL). A
  forged or altered token changes nothing and gets a 400 page.

Every page is a template (`page.html`, autoescaped). No access log: the tokens
in these URLs would otherwise be written to it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

from aiohttp import web

from watcher.deliver.render import Renderer
from watcher.web_pages import CSP, Site, add_routes

log = logging.getLogger("watcher.web")

HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
MAX_BODY = 16 * 1024


class Unsubscribing(Protocol):
    def who(self, token: str) -> str | None: ...

    async def unsubscribe(self, token: str) -> str | None: ...


def _page(renderer: Renderer, status: int, title: str, message: str, action: str | None = None,
          button: str = "") -> web.Response:
    body = renderer.page(title, message, action, button)
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8", headers=HEADERS)


def build_app(desk: Unsubscribing, renderer: Renderer, site: Site | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    if site is not None:
        add_routes(app, site)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, headers={"Cache-Control": "no-store"})

    async def confirm(request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        email = desk.who(token)
        if email is None:
            return _page(renderer, 400, "Link not valid", "This unsubscribe link is not valid. Nothing was changed.")
        action = str(request.rel_url)  # this same path and token, posted to
        return _page(renderer, 200, "Unsubscribe?", f"Stop sending Sanctuary Watch digests to {email}?", action,
                     "Unsubscribe")

    async def unsubscribe(request: web.Request) -> web.Response:
        token = request.query.get("token", "")
        if not token:
            form = await request.post()
            token = str(form.get("token", ""))
        email = await desk.unsubscribe(token)
        if email is None:
            return _page(renderer, 400, "Link not valid", "This unsubscribe link is not valid. Nothing was changed.")
        return _page(renderer, 200, "Unsubscribed", f"{email} will get no more Sanctuary Watch digests.")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/unsubscribe", confirm)
    app.router.add_post("/unsubscribe", unsubscribe)
    return app


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)


@contextlib.asynccontextmanager
async def serve(app: web.Application, listen: str) -> AsyncIterator[tuple[str, int]]:
    """Serve `app` on HOST:PORT (port 0: any free port) until the block ends; yields the bound address."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    try:
        host, port = split_listen(listen)
        await web.TCPSite(runner, host, port).start()
        bound = runner.addresses[0][:2]
        log.info("web face listening", extra={"listen": f"{bound[0]}:{bound[1]}"})
        yield bound[0], int(bound[1])
    finally:
        await runner.cleanup()
