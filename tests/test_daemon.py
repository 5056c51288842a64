"""`watcher run` as a process: polls on schedule, stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from tests.conftest import ROOT, wait_for, write_config
from tests.feedserver import Route, now_rfc822, rss


def _items(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"title": f"Item {i}", "link": f"https://example.org/{i}", "guid": str(i), "pubDate": now_rfc822()}
            for i in range(start, start + n)]


def _count(db) -> int:
    try:
        conn = sqlite3.connect(db)
        return conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    except sqlite3.Error:
        return -1


def test_run_polls_on_schedule_and_stops_on_sigterm(feed_server, tmp_path):
    feed_server.routes["/a.xml"] = Route(rss(_items(3)))
    feed_server.routes["/b.xml"] = Route(status=503, headers={"Retry-After": "1"})
    sources = [{"name": "a", "kind": "feed", "url": feed_server.url("/a.xml"), "every": "1s"},
               {"name": "b", "kind": "feed", "url": feed_server.url("/b.xml"), "every": "1s"}]
    cfg = write_config(tmp_path / "s.yaml", sources)
    db = tmp_path / "state" / "watcher.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    cmd = [sys.executable, "-m", "watcher", "--config", str(cfg), "--state", str(tmp_path / "state"), "--log-format", "json", "run"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: _count(db) == 3, 20, step=0.1), "the first poll should store the baseline"
        feed_server.routes["/a.xml"] = Route(rss(_items(3) + _items(1, start=3)))
        assert wait_for(lambda: _count(db) == 4, 10, step=0.1), "a later scheduled poll should find the new item"
        assert feed_server.hits["/a.xml"] >= 2 and feed_server.hits["/b.xml"] >= 1
        proc.send_signal(signal.SIGTERM)
        t = time.monotonic()
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert time.monotonic() - t < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    assert '"event": "stopped"' in err and '"source": "b"' in err
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.execute("BEGIN IMMEDIATE")  # nothing left locked
    conn.rollback()
