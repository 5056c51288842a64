"""The ingestion pipeline against a real HTTP server on localhost and a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tests.conftest import RECORDINGS, integrity_ok, last_json, run_cli, write_config
from tests.feedserver import Route, now_rfc822, rss
from watcher.app import poll_once
from watcher.config import load_config

RSS_TYPE = "application/rss+xml"


def _items(prefix: str, n: int) -> list[dict[str, str]]:
    return [
        {"title": f"{prefix} release {i}", "link": f"https://example.org/{prefix}/{i}?utm_source=rss",
         "guid": f"{prefix}-{i}", "pubDate": now_rfc822(-i), "description": f"Routine announcement number {i}."}
        for i in range(n)
    ]


def _serve_four(server) -> list[dict]:
    server.routes["/a.xml"] = Route(rss(_items("a", 5)))
    server.routes["/b.xml"] = Route(rss(_items("b", 7)))
    server.routes["/doj.json"] = Route((RECORDINGS / "doj_api.json").read_bytes(), "application/json")
    server.routes["/newsroom"] = Route((RECORDINGS / "ice_newsroom.html").read_bytes(), "text/html")
    return [
        {"name": "feed-a", "kind": "feed", "url": server.url("/a.xml")},
        {"name": "feed-b", "kind": "feed", "url": server.url("/b.xml")},
        {"name": "doj-api", "kind": "json", "preset": "doj", "url": server.url("/doj.json")},
        {"name": "ice-newsroom", "kind": "html", "url": server.url("/newsroom"),
         "item": "div.views-row div.news-wrapper", "title": "div.news-title a", "date": "div.news-date",
         "summary": "div.news-body"},
    ]


def _count(db: Path, sql: str, *args) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def test_baseline_then_not_modified_then_one_new_item(feed_server, tmp_path):
    sources = _serve_four(feed_server)
    cfg = write_config(tmp_path / "sources.yaml", sources)
    state = tmp_path / "state"

    first = run_cli("--config", str(cfg), "--state", str(state), "poll", "--once")
    assert first.returncode == 0, first.stderr
    s1 = last_json(first.stdout)
    stored = _count(state / "watcher.sqlite3", "SELECT COUNT(*) FROM items")
    assert s1["sources"] == 4 and s1["fetched"] == 4 and s1["failed"] == 0
    assert s1["baseline"] == stored and stored >= 5 + 7 + 10 + 10
    assert s1["new_items"] == 0 and s1["updated_items"] == 0 and s1["relevant"] == 0

    hits_before = dict(feed_server.hits)
    second = run_cli("--config", str(cfg), "--state", str(state), "poll", "--once")
    s2 = last_json(second.stdout)
    assert s2["not_modified"] == 4 and s2["fetched"] == 0
    assert s2["baseline"] == s2["new_items"] == s2["updated_items"] == 0
    # every request carried the validator it was given, and each source was asked once
    assert all(feed_server.hits[p] == hits_before[p] + 1 for p in hits_before)
    conditional = [h for p, h in feed_server.requests[-4:]]
    assert all("if-none-match" in h for h in conditional)

    feed_server.routes["/b.xml"] = Route(rss(_items("b", 7) + [{
        "title": "Fresh item", "link": "https://example.org/b/new", "guid": "b-new",
        "pubDate": now_rfc822(), "description": "Something new."}]))
    third = run_cli("--config", str(cfg), "--state", str(state), "poll", "--once")
    s3 = last_json(third.stdout)
    assert s3["new_items"] == 1 and s3["fetched"] == 1 and s3["not_modified"] == 3 and s3["baseline"] == 0
    assert _count(state / "watcher.sqlite3", "SELECT COUNT(*) FROM items") == stored + 1
    assert integrity_ok(state / "watcher.sqlite3")


def test_broken_sources_fail_alone(feed_server, tmp_path):
    sources = _serve_four(feed_server)
    feed_server.routes["/500"] = Route(status=500)
    feed_server.routes["/hang"] = Route(mode="hang")
    feed_server.routes["/malformed"] = Route(b'<?xml version="1.0"?><rss version="2.0"><channel><<<>>>&&&')
    feed_server.routes["/huge"] = Route(mode="huge")
    broken = [
        {"name": "five-hundred", "kind": "feed", "url": feed_server.url("/500")},
        {"name": "hangs", "kind": "feed", "url": feed_server.url("/hang")},
        {"name": "malformed", "kind": "feed", "url": feed_server.url("/malformed")},
        {"name": "fifty-mb", "kind": "feed", "url": feed_server.url("/huge")},
    ]
    cfg = write_config(tmp_path / "sources.yaml", sources + broken)
    state = tmp_path / "state"
    config = load_config(cfg, {})
    summary = asyncio.run(poll_once(config, state))
    c = summary.counts
    assert c["sources"] == 8 and c["failed"] == 4 and c["fetched"] == 4
    assert set(summary.errors) == {"five-hundred", "hangs", "malformed", "fifty-mb"}
    assert "HTTP 500" in summary.errors["five-hundred"]
    assert "timed out" in summary.errors["hangs"]
    assert "parse error" in summary.errors["malformed"]
    assert "cap" in summary.errors["fifty-mb"]
    db = state / "watcher.sqlite3"
    assert integrity_ok(db)
    assert _count(db, "SELECT COUNT(*) FROM sources WHERE consecutive_failures = 1 AND next_attempt_at IS NOT NULL") == 4
    assert _count(db, "SELECT COUNT(*) FROM items WHERE source IN ('five-hundred','hangs','malformed','fifty-mb')") == 0
    # the healthy sources took their baseline all the same
    assert _count(db, "SELECT COUNT(*) FROM sources WHERE baseline_done = 1") == 4

    # the broken ones recover: the next poll takes their baseline, the rest are unchanged
    feed_server.routes["/500"] = Route(rss(_items("r", 3)))
    summary = asyncio.run(poll_once(config, state, ["five-hundred", "feed-a"]))
    assert summary.counts["baseline"] == 3 and summary.counts["not_modified"] == 1 and summary.counts["failed"] == 0
    assert _count(db, "SELECT consecutive_failures FROM sources WHERE name = 'five-hundred'") == 0


def test_poll_one_source_and_unknown_source(feed_server, tmp_path):
    sources = _serve_four(feed_server)
    cfg = write_config(tmp_path / "sources.yaml", sources)
    state = tmp_path / "state"
    r = run_cli("--config", str(cfg), "--state", str(state), "poll", "--once", "--source", "feed-a")
    assert r.returncode == 0, r.stderr
    assert last_json(r.stdout)["sources"] == 1 and feed_server.hits == {"/a.xml": 1}
    r = run_cli("--config", str(cfg), "--state", str(state), "poll", "--once", "--source", "nope")
    assert r.returncode == 2 and "unknown source 'nope'" in r.stderr and "Traceback" not in r.stderr


def test_updated_item_is_an_update_not_new(feed_server, tmp_path):
    items = _items("u", 3)
    feed_server.routes["/u.xml"] = Route(rss(items))
    cfg = write_config(tmp_path / "s.yaml", [{"name": "u", "kind": "feed", "url": feed_server.url("/u.xml")}])
    config = load_config(cfg, {})
    asyncio.run(poll_once(config, tmp_path / "st"))
    items[1] = dict(items[1], description="Corrected: the announcement was amended.")
    feed_server.routes["/u.xml"] = Route(rss(items))
    c = asyncio.run(poll_once(config, tmp_path / "st")).counts
    assert c["updated_items"] == 0 and c["new_items"] == 0  # an update of a baseline item stays silent
    assert _count(tmp_path / "st" / "watcher.sqlite3", "SELECT MAX(revision) FROM items") == 2

    items.append({"title": "Brand new", "link": "https://example.org/n", "guid": "n", "pubDate": now_rfc822()})
    feed_server.routes["/u.xml"] = Route(rss(items))
    asyncio.run(poll_once(config, tmp_path / "st"))
    items[-1] = dict(items[-1], description="Now with a summary.")
    feed_server.routes["/u.xml"] = Route(rss(items))
    c = asyncio.run(poll_once(config, tmp_path / "st")).counts
    assert c["updated_items"] == 1 and c["new_items"] == 0


def test_rotating_guids_and_tracking_params_do_not_flood(feed_server, tmp_path):
    items = _items("g", 10)
    feed_server.routes["/g.xml"] = Route(rss(items))
    cfg = write_config(tmp_path / "s.yaml", [{"name": "g", "kind": "feed", "url": feed_server.url("/g.xml")}])
    config = load_config(cfg, {})
    asyncio.run(poll_once(config, tmp_path / "st"))
    rotated = [dict(it, guid=f"rotated-{it['guid']}", link=it["link"].replace("utm_source=rss", "utm_source=mail")) for it in items]
    feed_server.routes["/g.xml"] = Route(rss(rotated))
    c = asyncio.run(poll_once(config, tmp_path / "st")).counts
    assert c["new_items"] == 0 and c["fetched"] == 1


def test_old_items_first_seen_are_stored_not_alerted(feed_server, tmp_path):
    feed_server.routes["/o.xml"] = Route(rss(_items("o", 2)))
    cfg = write_config(tmp_path / "s.yaml", [{"name": "o", "kind": "feed", "url": feed_server.url("/o.xml")}])
    config = load_config(cfg, {})
    asyncio.run(poll_once(config, tmp_path / "st"))
    old = {"title": "An old release surfaces", "link": "https://example.org/old", "guid": "old",
           "pubDate": now_rfc822(-24 * 30)}
    fresh = {"title": "A fresh release", "link": "https://example.org/fresh", "guid": "fresh", "pubDate": now_rfc822()}
    feed_server.routes["/o.xml"] = Route(rss(_items("o", 2) + [old, fresh]))
    c = asyncio.run(poll_once(config, tmp_path / "st")).counts
    assert c["new_items"] == 1 and c["baseline"] == 1
    assert _count(tmp_path / "st" / "watcher.sqlite3", "SELECT silent FROM items WHERE key = 'old'") == 1


def test_list_page_rows_added_and_removed(feed_server, tmp_path):
    v1 = (RECORDINGS / "doj_sanctuary_list_v1.html").read_bytes()
    v2 = (RECORDINGS / "doj_sanctuary_list_v2.html").read_bytes()
    feed_server.routes["/list"] = Route(v1, "text/html")
    src = {"name": "doj-list", "kind": "list", "url": feed_server.url("/list"), "scope": "main article", "rows": "li",
           "label": "the DOJ sanctuary jurisdiction list",
           "describe": "{action} {label} published under Executive Order 14287: {row}."}
    cfg = write_config(tmp_path / "s.yaml", [src])
    config = load_config(cfg, {})
    c1 = asyncio.run(poll_once(config, tmp_path / "st")).counts
    assert c1["baseline"] == 35 and c1["new_items"] == 0
    feed_server.routes["/list"] = Route(v2, "text/html")
    c2 = asyncio.run(poll_once(config, tmp_path / "st")).counts
    assert c2["new_items"] == 2
    conn = sqlite3.connect(tmp_path / "st" / "watcher.sqlite3")
    titles = [r[0] for r in conn.execute("SELECT title FROM items WHERE silent = 0 ORDER BY id")]
    assert titles[0].startswith("Added to the DOJ sanctuary jurisdiction list: ")
    assert titles[1].startswith("Removed from the DOJ sanctuary jurisdiction list: ")
    # the same page again changes nothing
    c3 = asyncio.run(poll_once(config, tmp_path / "st")).counts
    assert c3["new_items"] == 0 and c3["not_modified"] == 1
