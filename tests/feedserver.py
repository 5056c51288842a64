"""A real HTTP server on localhost that serves recordings, with ETags and failure modes.

Runs in a thread; tests change its routes while it runs. Each route can answer
normally (with ETag and Last-Modified, 304 on a match), fail with a status,
hang, trickle bytes, send an oversized or gzip-bomb body, or redirect.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    etag: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    mode: str = "normal"  # normal | hang | trickle | huge | gzip_bomb | redirect_loop
    huge_bytes: int = 50 * 1024 * 1024


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.huge_sent: dict[str, int] = {}  # the bytes each `huge` route really sent
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

            def do_POST(self) -> None:  # noqa: N802 - webhook endpoints answer as their route says
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server._handle(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass  # clients that hang up mid-answer are what these tests are about

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "FeedServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            self.requests.append((path, {k.lower(): v for k, v in h.headers.items()}))
            route = self.routes.get(path)
        if route is None:
            return self._send(h, 404, b"not found", "text/plain")
        if route.mode == "hang":
            self._stop.wait(60)
            return None
        if route.mode == "redirect_loop":
            h.send_response(302)
            h.send_header("Location", path)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return None
        if route.status != 200:
            return self._send(h, route.status, b"error", "text/plain", route.headers)
        if route.mode == "huge":
            return self._stream_huge(h, route)
        if route.mode == "gzip_bomb":
            bomb = gzip.compress(b"\0" * route.huge_bytes, compresslevel=9)
            return self._send(h, 200, bomb, route.content_type, {"Content-Encoding": "gzip"})
        if route.mode == "trickle":
            return self._trickle(h, route)
        headers = dict(route.headers)
        if route.etag:
            tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = tag
            if h.headers.get("If-None-Match") == tag:
                h.send_response(304)
                h.send_header("ETag", tag)
                h.send_header("Content-Length", "0")
                h.end_headers()
                return None
        return self._send(h, 200, route.body, route.content_type, headers)

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _stream_huge(self, h: BaseHTTPRequestHandler, route: Route) -> None:
        # No Content-Length: the client must cap what it reads as it streams.
        sent = 0
        try:
            h.send_response(200)
            h.send_header("Content-Type", route.content_type)
            h.send_header("Connection", "close")
            h.end_headers()
            chunk = b"<rss>" + b"x" * 65531
            while sent < route.huge_bytes and not self._stop.is_set():
                h.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the client hung up: what the cap is for
            pass
        finally:
            self.huge_sent[h.path] = sent
        h.close_connection = True

    def _trickle(self, h: BaseHTTPRequestHandler, route: Route) -> None:
        try:
            h.send_response(200)
            h.send_header("Content-Type", route.content_type)
            h.send_header("Content-Length", str(len(route.body)))
            h.end_headers()
            for b in route.body:
                if self._stop.wait(1.0):
                    return
                h.wfile.write(bytes([b]))
                h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass


def rss(items: list[dict[str, str]], title: str = "Test feed") -> bytes:
    """A small RSS 2.0 document: items with title, link, guid, pubDate, description."""
    from xml.sax.saxutils import escape

    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
             "<link>http://example.org/</link><description>test</description>"]
    for it in items:
        parts.append("<item>")
        for tag in ("title", "link", "guid", "pubDate", "description"):
            if tag in it:
                parts.append(f"<{tag}>{escape(it[tag])}</{tag}>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def now_rfc822(offset_hours: float = 0.0) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(time.time() + offset_hours * 3600))
