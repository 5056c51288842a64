"""The dashboard and a story page in a real browser (headless Chromium): they load, the filter works,
a hostile title is shown as text, no script runs and nothing is fetched from elsewhere."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_email_browser import CHROMIUM, _Server
from watcher import web
from watcher.deliver.render import Renderer
from watcher.deliver.unsubscribe import UnsubscribeDesk
from watcher.store.db import Database, transaction
from watcher.store.views import Reader
from watcher.web_pages import Site

pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed")

CHICAGO = {"name": "Chicago", "state": "IL", "kind": "city", "fips": "1714000"}
PHILLY = {"name": "Philadelphia", "state": "PA", "kind": "city", "fips": "4260000"}
DENVER = {"name": "Denver", "state": "CO", "kind": "city", "fips": "0820000"}


def _seed(state: Path, evil: str) -> None:
    now = time.time()
    stories = [
        ("st-ruling", "ruling", "Judge blocks Justice Department from withholding grants over Philadelphia's sanctuary policies",
         [PHILLY], ["reads as ruling", "cites City of Philadelphia v. Sessions"], 0),
        ("st-threat", "funding_threat", "DOJ warns Chicago and Cook County it will withhold Byrne JAG funds",
         [CHICAGO, {"name": "Cook County", "state": "IL", "kind": "county", "fips": "17031"}],
         ["reads as funding threat", "concerns Byrne JAG funds"], 600),
        ("st-evil", "lawsuit", f"<script>document.title='pwned'</script><img src={evil}/beacon> Denver sued",
         [DENVER], [f"<img src={evil}/reason.png>"], 1200),
    ]
    with Database(state) as db, transaction(db.conn) as conn:
        for sid, kind, title, places, reasons, ago in stories:
            conn.execute(
                "INSERT INTO stories (id, kind, title, url, score, jurisdictions, reasons, first_seen, updated, alerted,"
                " state) VALUES (?, ?, ?, '', 0.95, ?, ?, ?, ?, 1, '{}')",
                (sid, kind, title, json.dumps(places), json.dumps(reasons), now - ago - 3600, now - ago),
            )
            for n, source in enumerate(("doj-press", "news-search")):
                url = f'{evil}/link"><img src="{evil}/attr.png">' if sid == "st-evil" else f"https://news.example/{sid}/{n}"
                conn.execute(
                    "INSERT INTO items (source, key, alt_key, url, title, summary, body, published, first_seen,"
                    " updated_at, content_hash, silent, relevant, kind, score, story_id)"
                    " VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?, 'h', 0, 1, ?, 0.9, ?)",
                    (source, f"{sid}-{n}", f"{sid}-{n}", url, title if n == 0 else f"Report {n}: {title}",
                     f"<style>body{{background:url({evil}/css.png)}}</style> A summary.", now - ago, now - ago,
                     now - ago, kind, sid),
                )
        for name, status, error in (("doj-press", "ok", None), ("news-search", "failed", "HTTP 503 from server")):
            conn.execute(
                "INSERT INTO sources (name, kind, url, last_poll_at, last_success_at, last_status, last_error, polls,"
                " failures, consecutive_failures, flagged) VALUES (?, 'feed', ?, ?, ?, ?, ?, 12, ?, ?, ?)",
                (name, f"https://example.gov/{name}.xml", now - 30, now - (30 if status == "ok" else 7200), status,
                 error, 0 if status == "ok" else 5, 0 if status == "ok" else 5, int(status == "failed")),
            )


async def _chromium(*args: str, profile: Path) -> tuple[int, str, str]:
    assert CHROMIUM is not None, "CI must have chromium (.ci/run installs it)"
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}", "--virtual-time-budget=3000"]
    proc = await asyncio.create_subprocess_exec(*base, *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def test_the_dashboard_and_a_story_page_in_chromium(tmp_path):
    trap = _Server()
    evil = f"http://127.0.0.1:{trap.port}"
    state = tmp_path / "st"
    _seed(state, evil)
    shots = {"dashboard": tmp_path / "dashboard.png", "story": tmp_path / "story.png"}

    async def go() -> dict[str, str]:
        async with Database(state) as db:
            site = Site(reader=Reader(db.reader), templates=Renderer().env, public_url="https://watch.example.org")
            app = web.build_app(UnsubscribeDesk(db, b"k" * 32), Renderer(), site)
            async with web.serve(app, "127.0.0.1:0") as (host, port):
                base = f"http://{host}:{port}"
                doms = {}
                for name, path in (("home", "/"), ("ruling", "/?kind=ruling"), ("place", "/?jurisdiction=Cook+County%2C+IL"),
                                   ("story", "/stories/st-evil")):
                    code, out, err = await _chromium("--dump-dom", base + path, profile=tmp_path / f"p-{name}")
                    assert code == 0, err[-2000:]
                    doms[name] = out
                await _chromium(f"--screenshot={shots['dashboard']}", "--window-size=1100,900", "--hide-scrollbars",
                                base + "/", profile=tmp_path / "p-shot1")
                await _chromium(f"--screenshot={shots['story']}", "--window-size=400,900", "--hide-scrollbars",
                                base + "/stories/st-evil", profile=tmp_path / "p-shot2")
                return doms

    try:
        doms = asyncio.run(go())
    finally:
        trap.close()
    home, ruling, place, story = doms["home"], doms["ruling"], doms["place"], doms["story"]
    # the pages loaded: every story, the source table with its failing source
    assert "Judge blocks Justice Department" in home and "DOJ warns Chicago" in home and "Denver sued" in home
    assert "news-search" in home and "HTTP 503 from server" in home and "flagged" in home
    # the hostile title is text; no script ran; nothing was fetched from the hostile address
    for dom in (home, story):
        assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
        assert "<script" not in dom and "<title>pwned</title>" not in dom  # the title was never set by a script
        assert "<img" not in dom
    assert "<title>Lawsuit: &lt;script&gt;" in story
    assert trap.hits == [], trap.hits
    # the filters: only rulings; only stories that name a place in Cook County
    assert ruling.count('class="story"') == 1 and 'data-kind="ruling"' in ruling and "Denver sued" not in ruling
    assert '<option value="ruling" selected="">' in ruling
    assert place.count('class="story"') == 1 and "DOJ warns Chicago" in place
    for shot in shots.values():
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("WATCHER_UPDATE_SCREENSHOT"):
        (ROOT / "docs" / "img").mkdir(exist_ok=True)
        for name, shot in shots.items():
            shutil.copy(shot, ROOT / "docs" / "img" / f"{name}.png")
