"""A real webhook receiver on localhost: verifies every request with the official `standardwebhooks` package.

Runs in a thread. Each path has a script of answers (statuses, taken in turn, the
last one repeated), or hangs, or answers slowly. Every request is recorded with
its headers, its body and whether its signature verified; an accepted (2xx)
event is recorded once per webhook-id, as a receiver that dedupes would.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook as Verifier

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"


@dataclass
class Hook:
    statuses: list[int] = field(default_factory=lambda: [200])
    secret: str | None = SECRET
    mode: str = "normal"  # normal | hang | slow
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float
    status: int

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class HookServer:
    def __init__(self) -> None:
        self.hooks: dict[str, Hook] = {}
        self.received: list[Received] = []
        self.accepted: dict[str, Received] = {}  # webhook-id -> the first accepted request
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                server._handle(self)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: object, client_address: object) -> None:
                pass

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> HookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    def accepted_at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.accepted.values() if r.path == path]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length)
        headers = {k.lower(): v for k, v in h.headers.items()}
        hook = self.hooks.get(h.path)
        if hook is None:
            return self._answer(h, 404)
        verified = False
        if hook.secret is not None:
            try:
                Verifier(hook.secret).verify(body, headers)
                verified = True
            except Exception:
                verified = False
        with self._lock:
            n = sum(1 for r in self.received if r.path == h.path)
            status = hook.statuses[min(n, len(hook.statuses) - 1)]
            if hook.secret is not None and not verified:
                status = 401
            rec = Received(h.path, headers, body, verified, time.monotonic(), status)
            self.received.append(rec)
            if 200 <= status < 300 and rec.id not in self.accepted:
                self.accepted[rec.id] = rec
        if hook.mode == "hang":
            self._stop.wait(60)
            return None
        if hook.delay:
            time.sleep(hook.delay)
        self._answer(h, status, hook.headers)
        return None

    def _answer(self, h: BaseHTTPRequestHandler, status: int, headers: dict[str, str] | None = None) -> None:
        body = b'{"ok": true}' if 200 <= status < 300 else b"no"
        try:
            h.send_response(status)
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass
