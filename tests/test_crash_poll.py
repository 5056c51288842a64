"""Kill the poller at any moment: the next run neither loses nor duplicates an item."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

from tests.conftest import ROOT, integrity_ok, write_config
from tests.feedserver import Route, now_rfc822, rss


def test_sigkill_during_polls_loses_and_doubles_nothing(feed_server, tmp_path):
    rng = random.Random(1234)
    feeds = {f"/f{n}.xml": [{"title": f"Feed {n} item {i}", "link": f"https://example.org/{n}/{i}", "guid": f"{n}-{i}",
                             "pubDate": now_rfc822()} for i in range(5)] for n in range(5)}
    for path, items in feeds.items():
        feed_server.routes[path] = Route(rss(items))
    sources = [{"name": f"f{n}", "kind": "feed", "url": feed_server.url(f"/f{n}.xml")} for n in range(5)]
    cfg = write_config(tmp_path / "s.yaml", sources)
    state = tmp_path / "state"
    cmd = [sys.executable, "-m", "watcher", "--config", str(cfg), "--state", str(state), "poll", "--once"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
    assert subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, timeout=60).returncode == 0  # the baseline

    added: list[str] = []
    killed = 0
    for round_ in range(24):
        path = rng.choice(sorted(feeds))
        guid = f"new-{round_}"
        feeds[path].insert(0, {"title": f"Development number {round_}", "link": f"https://example.org/new/{round_}",
                               "guid": guid, "pubDate": now_rfc822()})
        feed_server.routes[path] = Route(rss(feeds[path]))
        added.append(guid)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.2))  # start-up takes a good part of this: kills land all along the run
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
    assert killed >= 6, "the kills should land mid-run in a good share of the rounds"

    final = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert final.returncode == 0, final.stderr
    db = state / "watcher.sqlite3"
    assert integrity_ok(db)
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT key, silent FROM items WHERE key LIKE 'new-%'").fetchall()
    assert sorted(k for k, _ in rows) == sorted(added)  # every new item, once
    assert all(silent == 0 for _, silent in rows)  # and each will be alerted
    assert conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 25 + len(added)
    assert conn.execute("SELECT COUNT(DISTINCT alt_key) FROM items").fetchone()[0] == 25 + len(added)
