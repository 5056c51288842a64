"""The HTML digest in a real browser (headless Chromium): no script runs, nothing remote is loaded."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.mail_helpers import mail_config, seed
from watcher.app import open_mailer
from watcher.store.db import Database

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed")


class _Server:
    """A local HTTP server: serves `pages`, counts every request."""

    def __init__(self, pages: dict[str, bytes] | None = None):
        self.pages = pages or {}
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                outer.hits.append(self.path)
                body = outer.pages.get(self.path.split("?")[0], b"")
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _digest_html(tmp_path: Path, evil: str) -> str:
    cfg = mail_config(tmp_path, [{"email": "desk@example.org", "schedule": "immediate"}])
    state = tmp_path / "st"
    seed(cfg, state, [
        {"id": "s-1", "kind": "ruling", "score": 0.97,
         "title": "Judge blocks Justice Department from withholding grants over Philadelphia's sanctuary policies",
         "jurisdictions": [{"name": "Philadelphia", "state": "PA", "kind": "city", "fips": "4260000"}],
         "reasons": ["reads as ruling", "cites City of Philadelphia v. Sessions"], "url": "https://www.justice.gov/opa/pr/x"},
        {"id": "s-2", "kind": "funding_threat", "score": 0.93,
         "title": "DOJ warns Chicago and Cook County it will withhold Byrne JAG funds",
         "jurisdictions": [{"name": "Chicago", "state": "IL", "kind": "city", "fips": "1714000"},
                           {"name": "Cook County", "state": "IL", "kind": "county", "fips": "17031"}],
         "url": "https://news.example/chicago"},
        {"id": "s-3", "kind": "lawsuit", "score": 0.9,
         "title": f"<script>document.title='pwned'</script><img src={evil}/title.png> Denver sued\r\nBcc: victim@evil.example",
         "url": f'{evil}/link"><img/src="{evil}/attr.png">'},
    ])

    async def go() -> str:
        async with Database(state) as db, open_mailer(cfg, db, state) as mailer:
            await mailer.prepare()
            msg = await mailer.preview("desk@example.org")
            assert msg is not None
            from watcher.deliver.message import body

            return body(msg, "html")

    return asyncio.run(go())


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    assert CHROMIUM is not None, "CI must have chromium (.ci/run installs it)"
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--virtual-time-budget=3000"]
    return subprocess.run([*base, *args], capture_output=True, text=True, timeout=60)


def test_the_html_digest_runs_no_script_and_loads_nothing_remote(tmp_path):
    trap = _Server()
    try:
        evil = f"http://127.0.0.1:{trap.port}"
        html = _digest_html(tmp_path, evil)
        page = _Server({"/digest.html": html.encode("utf-8")})
        try:
            url = f"http://127.0.0.1:{page.port}/digest.html"
            dom = _chromium("--dump-dom", url, profile=tmp_path / "p1")
            assert dom.returncode == 0, dom.stderr[-2000:]
            shot = tmp_path / "digest.png"
            _chromium(f"--screenshot={shot}", "--window-size=720,1000", "--hide-scrollbars", url, profile=tmp_path / "p2")
        finally:
            page.close()
    finally:
        trap.close()
    assert "<title>Judge blocks" in dom.stdout or "<title>Ruling: Judge blocks" in dom.stdout
    assert "pwned" not in dom.stdout.split("</title>")[0]  # the script never ran
    assert "<script" not in dom.stdout and "&lt;script&gt;" in dom.stdout
    assert "Denver sued Bcc: victim@evil.example" in dom.stdout  # one line of text
    assert trap.hits == []  # no image, stylesheet or anything else fetched from the hostile address
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("WATCHER_UPDATE_SCREENSHOT"):
        (ROOT / "docs" / "img").mkdir(exist_ok=True)
        shutil.copy(shot, ROOT / "docs" / "img" / "digest.png")
