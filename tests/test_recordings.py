"""Sanity checks for the recorded source payloads in watcher/recordings/.

The recordings are replayed by a local HTTP server in tests and by the demo, so they must
stay parseable and keep the structure the real sources have (see watcher/recordings/README.md).
"""

import json
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup

from tests.conftest import RECORDINGS as REC

XML_FEEDS = {
    "doj_rss.xml": ("rss20", 8),
    "ice_news_356.xml": ("rss20", 8),
    "whitehouse_actions.xml": ("rss20", 8),
    "govinfo_ca9.xml": ("rss20", 8),
    "courtlistener_feed.xml": ("atom10", 8),
    "google_news.xml": ("rss20", 8),
    "atom_generic.xml": ("atom10", 6),
}
JSON_FILES = ["fr_documents.json", "doj_api.json", "courtlistener_search.json"]
MAX_BYTES = 60 * 1024


def test_every_recording_is_listed_and_small():
    names = {p.name for p in REC.iterdir() if p.is_file()}
    expected = set(XML_FEEDS) | set(JSON_FILES) | {
        "ice_newsroom.html", "dhs_press.html", "doj_sanctuary_list_v1.html",
        "doj_sanctuary_list_v2.html", "README.md"}
    assert expected <= names
    for name in expected:
        assert (REC / name).stat().st_size < MAX_BYTES, name


@pytest.mark.parametrize("name", sorted(XML_FEEDS))
def test_feed_parses_without_bozo(name):
    version, min_items = XML_FEEDS[name]
    d = feedparser.parse((REC / name).read_bytes())
    assert not d.bozo, f"{name}: {d.get('bozo_exception')!r}"
    assert d.version == version
    assert min_items <= len(d.entries) <= 20
    ids = [e.get("id") or e.get("link") for e in d.entries]
    links = [e.link for e in d.entries]
    assert len(set(ids)) == len(ids) and len(set(links)) == len(links)
    for e in d.entries:
        assert e.title and e.link
        parsed = e.get("published_parsed") or e.get("updated_parsed")
        assert parsed is not None and parsed.tm_year in (2024, 2025)


def test_feed_specific_shapes():
    wh = feedparser.parse((REC / "whitehouse_actions.xml").read_bytes())
    for e in wh.entries:
        assert e.id.startswith("https://www.whitehouse.gov/?p=")
        assert e.guidislink is False
        assert e.author == "The White House"
        assert e.content[0].value
        assert "Presidential Actions" in [t.term for t in e.tags]
    gn = feedparser.parse((REC / "google_news.xml").read_bytes())
    for e in gn.entries:
        assert e.link.startswith("https://news.google.com/rss/articles/")
        assert e.title.endswith(" - " + e.source.title)
        assert e.source.href.startswith("https://")
    ice = feedparser.parse((REC / "ice_news_356.xml").read_bytes())
    assert all(e.published.endswith("-0400") for e in ice.entries)
    cl = feedparser.parse((REC / "courtlistener_feed.xml").read_bytes())
    assert all(e.link.startswith("https://www.courtlistener.com/opinion/") for e in cl.entries)
    assert all(e.author for e in cl.entries)  # the court name


@pytest.mark.parametrize("name", JSON_FILES)
def test_json_loads(name):
    assert json.loads((REC / name).read_text(encoding="utf-8"))


def test_json_shapes():
    fr = json.loads((REC / "fr_documents.json").read_text(encoding="utf-8"))
    assert {"count", "description", "total_pages", "next_page_url", "results"} <= fr.keys()
    assert any(r["document_number"] == "2017-02102" for r in fr["results"])
    fields = {frozenset(r) for r in fr["results"]}
    assert len(fields) == 1
    assert len({r["document_number"] for r in fr["results"]}) == len(fr["results"])

    doj = json.loads((REC / "doj_api.json").read_text(encoding="utf-8"))
    assert set(doj["metadata"]["resultset"]) == {"count", "pagesize", "page"}
    sample = json.loads((Path(__file__).parents[2] / "shared/samples/doj_api_press_releases_page0.json").read_text()) \
        if (Path(__file__).parents[2] / "shared/samples").exists() else None
    keysets = {frozenset(r) for r in doj["results"]}
    assert len(keysets) == 1
    if sample:
        assert keysets == {frozenset(sample["results"][0])}
    assert len({r["uuid"] for r in doj["results"]}) == len(doj["results"]) == 10

    cl = json.loads((REC / "courtlistener_search.json").read_text(encoding="utf-8"))
    assert {"count", "next", "previous", "results"} <= cl.keys() and len(cl["results"]) == 5
    assert all(r["opinions"] and "snippet" in r["opinions"][0] for r in cl["results"])


def _soup(name):
    return BeautifulSoup((REC / name).read_text(encoding="utf-8"), "html.parser")


def test_ice_newsroom_selectors():
    rows = _soup("ice_newsroom.html").select("div.views-row div.news-wrapper")
    assert len(rows) == 10
    for r in rows:
        a = r.select_one("div.news-title a")
        assert a and a["href"].startswith("/news/")
        assert r.select_one("div.news-date").get_text(strip=True)
        assert r.select_one("div.news-body").get_text(strip=True)


def test_dhs_press_selectors():
    rows = _soup("dhs_press.html").select("div.news-updates.views-row")
    assert len(rows) == 10
    for r in rows:
        assert r.select_one("time[datetime]")
        assert r.select_one("h3.news-updates-title a")["href"].startswith("/news/")


def _jurisdictions(name):
    soup = _soup(name)
    return {cat: [li.get_text(strip=True) for li in soup.select(f'ul.sanctuary-list[data-category="{cat}"] li')]
            for cat in ("states", "counties", "cities")}


def test_doj_list_versions_differ_by_one_add_and_one_remove():
    v1, v2 = _jurisdictions("doj_sanctuary_list_v1.html"), _jurisdictions("doj_sanctuary_list_v2.html")
    assert all(v1[c] for c in v1)
    a = {(c, j) for c in v1 for j in v1[c]}
    b = {(c, j) for c in v2 for j in v2[c]}
    assert b - a == {("counties", "Hennepin County, MN")}
    assert a - b == {("cities", "Paterson, NJ")}
    for name in ("doj_sanctuary_list_v1.html", "doj_sanctuary_list_v2.html"):
        soup = _soup(name)
        assert [h.get_text(strip=True) for h in soup.select("div.node-body h2")] == ["States", "Counties", "Cities"]
