"""The web face of `watcher run`, as a process against a local feed server: feeds, metrics, pages, access."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT, wait_for, write_config
from tests.feedserver import Route, now_rfc822, rss
from tests.test_story_pipeline import FILLER, NEWS

EVERY = 1.0  # seconds between polls of a source
RULING = {"title": "Federal judge blocks Justice Department from withholding grants over Chicago sanctuary policy",
          "link": "https://news.example/chicago-ruling", "guid": "ruling-1", "pubDate": now_rfc822(-1),
          "description": "A federal judge in Chicago issued an injunction blocking the Justice Department from cutting "
                         "Byrne JAG grants to the City of Chicago over its sanctuary ordinance."}
BASELINE = {"title": "Governor signs bill expanding Oregon sanctuary law", "link": "https://news.example/oregon",
            "guid": "oregon-1", "pubDate": now_rfc822(-3),
            "description": "Oregon's governor signed legislation strengthening the state sanctuary law that limits "
                           "cooperation with ICE."}
IRRELEVANT = {"title": "City council approves new library budget", "link": "https://news.example/library",
              "guid": "library-1", "pubDate": now_rfc822(-1),
              "description": "The council voted to fund longer hours at branch libraries."}

# Distinctive private values: none may appear in any public page.
EMAIL = "private.reader.7731@example.org"
HOOK_NAME = "tribune-private-desk"
HOOK_URL = "http://127.0.0.1:9/hook-privatepath-4417"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PRIVATE = [EMAIL, "private.reader", HOOK_NAME, "hook-privatepath-4417", SECRET, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]


class Daemon:
    """`watcher run` in a subprocess, JSON logs to a file; `url` once its web face listens."""

    def __init__(self, cfg: Path, state: Path, env: dict[str, str]):
        self.log = state.parent / "run.log"
        cmd = [sys.executable, "-m", "watcher", "--config", str(cfg), "--state", str(state), "--log-format", "json", "run"]
        full = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")} | env
        self._err = self.log.open("w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=subprocess.DEVNULL, stderr=self._err, text=True)
        self.url = self._listening(20.0)

    def _listening(self, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for line in self.log.read_text().splitlines():
                if line.startswith("{") and json.loads(line).get("event") == "web face listening":
                    return "http://" + json.loads(line)["listen"]
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise AssertionError("no 'web face listening' line: " + self.log.read_text()[-2000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._err.close()


def _db(state: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{state / 'watcher.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _titles(feed: dict) -> list[str]:
    return [i["title"] for i in feed["items"]]


def test_the_web_face_of_a_running_daemon(feed_server, tmp_path):
    feed_server.routes["/news.xml"] = Route(rss(FILLER + [BASELINE]))
    feed_server.routes["/courts.xml"] = Route(rss(FILLER))
    feed_server.routes["/broken.xml"] = Route(status=500)
    sources = [{"name": name, "kind": "feed", "url": feed_server.url(f"/{name}.xml"), "every": f"{EVERY}s"}
               for name in ("news", "courts", "broken")]
    cfg = write_config(tmp_path / "s.yaml", sources, {"public_url": "https://watch.example.org"},
                       subscribers=[{"email": EMAIL, "schedule": "immediate"}],
                       webhooks=[{"name": HOOK_NAME, "url": HOOK_URL, "secret_env": "HOOK_SECRET", "allow_private": True}])
    state = tmp_path / "state"
    daemon = Daemon(cfg, state, {"HOOK_SECRET": SECRET})
    try:
        web = httpx.Client(base_url=daemon.url, timeout=10)
        assert wait_for(lambda: web.get("/readyz").status_code == 200, 10), "/readyz should answer 200 once started"
        assert web.get("/healthz").json() == {"status": "ok"}
        # the first polls are a silent baseline: stored, classified, never alerted nor in the default feed
        assert wait_for(lambda: _db(state, "SELECT COUNT(*) FROM sources WHERE baseline_done = 1") == [(2,)], 10)
        assert web.get("/feed.json").json()["items"] == []
        assert _titles(web.get("/feed.json", params={"all": "1"}).json()) == [BASELINE["title"]]

        feed_server.routes["/news.xml"] = Route(rss(FILLER + [BASELINE, NEWS, IRRELEVANT]))
        feed_server.routes["/courts.xml"] = Route(rss(FILLER + [RULING]))
        changed = time.monotonic()
        def both() -> dict | None:
            f = web.get("/feed.json").json()
            return f if len(f["items"]) == 2 else None
        feed = wait_for(both, 2 * EVERY + 3)
        assert feed is not None, web.get("/feed.json").text
        took = time.monotonic() - changed
        print(f"relevant stories in /feed.json {took:.2f} s after the feeds changed")
        assert took < 2 * EVERY + 3, took
        assert sorted(_titles(feed)) == sorted([NEWS["title"], RULING["title"]])
        assert IRRELEVANT["title"] not in json.dumps(feed) and BASELINE["title"] not in json.dumps(feed)
        by_kind = {i["_sanctuary"]["kind"]: i for i in feed["items"]}
        assert set(by_kind) == {"lawsuit", "ruling"}
        assert by_kind["ruling"]["_sanctuary"]["jurisdictions"][0]["fips"] == "1714000"
        assert by_kind["ruling"]["url"].startswith("https://watch.example.org/stories/")

        # filters
        assert _titles(web.get("/feed.json?kind=ruling").json()) == [RULING["title"]]
        assert sorted(_titles(web.get("/feed.json?kind=ruling&kind=lawsuit").json())) == sorted(_titles(feed))
        assert _titles(web.get("/feed.json", params={"jurisdiction": "Denver, CO"}).json()) == [NEWS["title"]]
        assert _titles(web.get("/feed.json", params={"jurisdiction": "IL"}).json()) == [RULING["title"]]
        assert len(web.get("/feed.json?limit=1").json()["items"]) == 1
        assert web.get("/feed.json?kind=nonsense").status_code == 400
        assert len(web.get("/feed.json?all=1").json()["items"]) == 3

        # Atom: the same stories
        r = web.get("/feed.atom")
        assert r.headers["Content-Type"].startswith("application/atom+xml")
        atom = feedparser.parse(r.content)
        assert not atom.bozo and sorted(e.title for e in atom.entries) == sorted(_titles(feed))
        assert sorted(e.id for e in atom.entries) == sorted(i["url"] for i in feed["items"])

        # ETag and 304 (while nothing changes; a poll may land in between, then the tag changes)
        def revalidates() -> bool:
            first = web.get("/feed.json")
            again = web.get("/feed.json", headers={"If-None-Match": first.headers["ETag"]})
            return again.status_code == 304 and again.content == b"" and again.headers["ETag"] == first.headers["ETag"]
        assert wait_for(revalidates, 5)
        assert web.get("/feed.json", headers={"If-None-Match": '"stale"'}).status_code == 200

        # pages
        story_id = by_kind["ruling"]["id"]
        page = web.get(f"/stories/{story_id}")
        assert page.status_code == 200 and RULING["title"] in page.text and "courts" in page.text
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert web.get("/stories/no-such-story").status_code == 404
        home = web.get("/")
        assert home.status_code == 200 and RULING["title"] in home.text and "broken" in home.text
        assert "script" not in home.text.lower()  # no JavaScript at all

        # metrics: parsed by the Prometheus parser, and the counts are the store's
        def consistent() -> tuple[dict, list] | None:
            before = _db(state, "SELECT name, polls, failures, not_modified FROM sources ORDER BY name")
            text = web.get("/metrics").text
            after = _db(state, "SELECT name, polls, failures, not_modified FROM sources ORDER BY name")
            return (_samples(text), after) if before == after else None
        samples, rows = wait_for(consistent, 10)
        for name, polls, failures, not_modified in rows:
            assert samples[("watcher_source_polls_total", (("source", name),))] == polls
            assert samples[("watcher_source_failures_total", (("source", name),))] == failures
            assert samples[("watcher_source_not_modified_total", (("source", name),))] == not_modified
        assert samples[("watcher_source_consecutive_failures", (("source", "broken"),))] >= 1
        assert samples[("watcher_source_polls_total", (("source", "news"),))] >= 2
        assert samples[("watcher_poll_latency_seconds_count", (("source", "news"),))] >= 1
        items = _db(state, "SELECT COUNT(*), SUM(relevant) FROM items")[0]
        assert sum(v for (n, _), v in samples.items() if n == "watcher_items") == items[0]
        assert sum(v for (n, lab), v in samples.items() if n == "watcher_items" and ("relevant", "true") in lab) == items[1]
        assert samples[("watcher_stories", (("alerted", "true"), ("kind", "ruling")))] == 1
        deliveries = _db(state, "SELECT COUNT(*) FROM deliveries")[0][0]
        assert deliveries > 0 and sum(v for (n, _), v in samples.items() if n == "watcher_deliveries") == deliveries

        # access: nothing private in anything public
        for path in ("/", "/?all=1", "/feed.json?all=1", "/feed.atom?all=1", "/metrics", f"/stories/{story_id}",
                     "/readyz", "/healthz", "/stories/nope"):
            body = web.get(path).text
            for private in PRIVATE:
                assert private.lower() not in body.lower(), (path, private)
    finally:
        daemon.stop()
    assert daemon.proc.returncode == 0, daemon.log.read_text()[-2000:]


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_a_source_removed_from_the_config_leaves_the_dashboard_and_metrics(feed_server, tmp_path):
    feed_server.routes["/news.xml"] = Route(rss(FILLER))
    feed_server.routes["/retired.xml"] = Route(rss(FILLER))
    sources = [{"name": name, "kind": "feed", "url": feed_server.url(f"/{name}.xml"), "every": f"{EVERY}s"}
               for name in ("news", "retired")]
    state = tmp_path / "state"
    daemon = Daemon(write_config(tmp_path / "two.yaml", sources), state, {})
    try:
        web = httpx.Client(base_url=daemon.url, timeout=10)
        assert wait_for(lambda: _db(state, "SELECT COUNT(*) FROM sources WHERE baseline_done = 1") == [(2,)], 10)
        assert "retired" in web.get("/").text
        assert ("watcher_source_polls_total", (("source", "retired"),)) in _samples(web.get("/metrics").text)
    finally:
        daemon.stop()

    daemon = Daemon(write_config(tmp_path / "one.yaml", sources[:1]), state, {})
    try:
        web = httpx.Client(base_url=daemon.url, timeout=10)
        assert wait_for(lambda: web.get("/readyz").status_code == 200, 10)
        home, samples = web.get("/").text, _samples(web.get("/metrics").text)
        assert "news" in home and "retired" not in home
        assert ("watcher_source_polls_total", (("source", "news"),)) in samples
        assert not [key for key in samples if ("source", "retired") in key[1] and key[0].startswith("watcher_source_")]
        # its items stay in the store and in the item counts
        assert sum(v for (n, lab), v in samples.items() if n == "watcher_items" and ("source", "retired") in lab) > 0
        # its state is kept: no new baseline when it comes back
        assert _db(state, "SELECT baseline_done FROM sources WHERE name = 'retired'") == [(1,)]
    finally:
        daemon.stop()
    assert daemon.proc.returncode == 0, daemon.log.read_text()[-2000:]
