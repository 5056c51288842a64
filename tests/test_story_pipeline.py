"""Stories through the whole pipeline: three sources, one event, one story; updates; silence."""

from __future__ import annotations

import asyncio
import sqlite3

from tests.conftest import write_config
from tests.feedserver import Route, now_rfc822, rss
from watcher.app import poll_once
from watcher.config import load_config

FILLER = [{"title": "Routine grant for rural broadband announced", "link": "https://example.org/filler",
           "guid": "filler", "pubDate": now_rfc822(-5), "description": "A county library gets funds."}]

DOJ = {"title": "Justice Department Sues Denver Over Sanctuary Policies", "link": "https://www.justice.gov/opa/pr/denver",
       "guid": "doj-1", "pubDate": now_rfc822(-2),
       "description": "The Justice Department filed a lawsuit against the City and County of Denver, alleging that its "
                      "sanctuary ordinances obstruct federal immigration enforcement and violate the Supremacy Clause."}
NEWS = {"title": "DOJ files suit against Denver over sanctuary city laws - Denver Post", "link": "https://news.example/denver-suit",
        "guid": "news-1", "pubDate": now_rfc822(-1),
        "description": "The federal government sued Denver on Monday, saying the city's sanctuary ordinances that limit "
                       "cooperation with ICE detainers are unconstitutional."}
WIRE = {"title": "US sues Denver, says sanctuary ordinances block immigration enforcement", "link": "https://wire.example/denver",
        "guid": "wire-1", "pubDate": now_rfc822(-1),
        "description": "The Justice Department's lawsuit against Denver targets city rules that bar jail staff from "
                       "honoring immigration detainers, the complaint filed in federal court shows."}
LATER = {"title": "Denver mayor vows to keep sanctuary policies after federal suit", "link": "https://news.example/denver-later",
         "guid": "news-2", "pubDate": now_rfc822(),
         "description": "Weeks after the filing, Denver's mayor said in a speech the city would not change its sanctuary "
                        "ordinances or honor detainers."}


def _db(state) -> sqlite3.Connection:
    return sqlite3.connect(state / "watcher.sqlite3")


def test_three_reports_of_one_event_make_one_story(feed_server, tmp_path):
    for path in ("/doj.xml", "/news.xml", "/wire.xml"):
        feed_server.routes[path] = Route(rss(FILLER))
    sources = [{"name": "doj-press", "kind": "feed", "publisher": "doj", "url": feed_server.url("/doj.xml")},
               {"name": "news", "kind": "feed", "url": feed_server.url("/news.xml")},
               {"name": "wire", "kind": "feed", "url": feed_server.url("/wire.xml")}]
    config = load_config(write_config(tmp_path / "s.yaml", sources), {})
    state = tmp_path / "st"
    assert asyncio.run(poll_once(config, state)).counts["baseline"] == 3

    feed_server.routes["/news.xml"] = Route(rss(FILLER + [NEWS]))
    c = asyncio.run(poll_once(config, state)).counts
    assert c["new_items"] == 1 and c["relevant"] == 1 and c["stories_new"] == 1 and c["stories_updated"] == 0

    feed_server.routes["/doj.xml"] = Route(rss(FILLER + [DOJ]))
    feed_server.routes["/wire.xml"] = Route(rss(FILLER + [WIRE]))
    c = asyncio.run(poll_once(config, state)).counts
    assert c["new_items"] == 2 and c["stories_new"] == 0 and c["stories_updated"] == 2

    conn = _db(state)
    stories = conn.execute("SELECT id, kind, title FROM stories").fetchall()
    assert len(stories) == 1
    sid, kind, title = stories[0]
    assert kind == "lawsuit"
    assert title == DOJ["title"]  # the agency's own document names the story, though news came first
    assert conn.execute("SELECT COUNT(*) FROM items WHERE story_id = ?", (sid,)).fetchone()[0] == 3
    events = conn.execute("SELECT type FROM story_events ORDER BY id").fetchall()
    assert [e[0] for e in events] == ["story.created", "story.updated", "story.updated"]

    # weeks later, a vow about the same city is a story of its own
    feed_server.routes["/news.xml"] = Route(rss(FILLER + [NEWS, LATER]))
    c = asyncio.run(poll_once(config, state)).counts
    assert c["stories_new"] == 1
    assert conn.execute("SELECT COUNT(*) FROM stories").fetchone()[0] == 2


def test_baseline_items_make_silent_stories(feed_server, tmp_path):
    feed_server.routes["/news.xml"] = Route(rss([NEWS]))
    config = load_config(write_config(tmp_path / "s.yaml", [{"name": "news", "kind": "feed", "url": feed_server.url("/news.xml")}]), {})
    state = tmp_path / "st"
    c = asyncio.run(poll_once(config, state)).counts
    assert c["baseline"] == 1 and c["stories_new"] == 0
    conn = _db(state)
    assert conn.execute("SELECT COUNT(*), SUM(alerted) FROM stories").fetchone() == (1, 0)
    assert conn.execute("SELECT COUNT(*) FROM story_events").fetchone()[0] == 0
    # a fresh report joining the silent story is the first anyone hears of it: created, not updated
    feed_server.routes["/news.xml"] = Route(rss([NEWS, WIRE]))
    c = asyncio.run(poll_once(config, state)).counts
    assert c["stories_new"] == 1 and c["stories_updated"] == 0
