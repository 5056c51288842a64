"""The web face's pure parts: feeds, the story query, metrics text, and what the dashboard shows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import feedparser
import pytest
from multidict import MultiDict
from prometheus_client.parser import text_string_to_metric_families

from watcher import feeds, metrics, web_view
from watcher.domain import Jurisdiction, SourceState, Story, StoryRef
from watcher.feeds import QueryError, StoryQuery
from watcher.store.views import Counts

BASE = "https://watch.example.org"
CHICAGO = Jurisdiction("Chicago", "IL", "city", "1714000")
COOK = Jurisdiction("Cook County", "IL", "county", "17031")
DENVER = Jurisdiction("Denver", "CO", "city", "0820000")
HOSTILE = "<script>document.title='pwned'</script>\x00\x1b<img src=x> & \"Denver\"\r\nBcc: x@evil.example"


def _story(sid: str, kind: str = "ruling", title: str = "Judge blocks grant cuts", places=(CHICAGO,), **kw) -> Story:
    refs = kw.pop("items", (StoryRef("doj-press", title, "https://www.justice.gov/opa/pr/x",
                                     datetime(2025, 6, 2, 14, 5, tzinfo=UTC), "A summary."),))
    return Story(id=sid, title=title, kind=kind, score=0.97, jurisdictions=tuple(places),
                 reasons=("reads as ruling", "targets Chicago, IL"), first_seen=1748872800.0, updated=1748876400.0,
                 items=refs)


def test_json_feed_is_json_feed_1_1_with_the_classification():
    s = _story("st-1", items=(StoryRef("news", HOSTILE, "javascript:alert(1)", None, HOSTILE),
                              StoryRef("doj-press", "DOJ release", "https://www.justice.gov/x", None, "")))
    feed = json.loads(feeds.json_body(feeds.json_feed([s], BASE, BASE + "/feed.json")))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["home_page_url"] == BASE + "/" and feed["feed_url"] == BASE + "/feed.json"
    [item] = feed["items"]
    assert item["id"] == "st-1" and item["url"] == BASE + "/stories/st-1"
    assert item["date_published"] == "2025-06-02T14:00:00Z" and item["date_modified"] == "2025-06-02T15:00:00Z"
    assert item["external_url"] == "https://www.justice.gov/x"  # the javascript: link is dropped
    ext = item["_sanctuary"]
    assert ext["kind"] == "ruling" and ext["score"] == 0.97
    assert ext["jurisdictions"] == [{"name": "Chicago", "state": "IL", "kind": "city", "fips": "1714000"}]
    assert ext["reasons"] == ["reads as ruling", "targets Chicago, IL"]
    assert [x["source"] for x in ext["sources"]] == ["news", "doj-press"] and ext["sources"][0]["url"] == ""
    assert "javascript:" not in json.dumps(feed)
    assert "Chicago, IL" in item["content_text"] and "DOJ release" in item["content_text"]


def test_atom_is_well_formed_with_hostile_text_and_parses_to_the_same_stories():
    stories = [_story("st-1", title=HOSTILE), _story("st-2", kind="lawsuit", title="Denver sued", places=(DENVER,))]
    body = feeds.atom_feed(stories, BASE, BASE + "/feed.atom")
    root = ET.fromstring(body)  # well-formed, although the title had NUL and ESC in it
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert b"<script>" not in body and b"&lt;script&gt;" in body
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert [e.id for e in parsed.entries] == [BASE + "/stories/st-1", BASE + "/stories/st-2"]
    assert parsed.entries[0].title.startswith("<script>document.title='pwned'</script>")  # text, as it was
    assert "Bcc" in parsed.entries[0].title and "\n" not in parsed.entries[0].title
    assert parsed.entries[1].tags[0].term == "lawsuit"
    assert parsed.feed.updated == "2025-06-02T15:00:00Z"


def test_an_empty_feed_is_still_valid_and_stable():
    a = feeds.atom_feed([], BASE, BASE + "/feed.atom")
    assert not feedparser.parse(a).bozo and a == feeds.atom_feed([], BASE, BASE + "/feed.atom")
    assert json.loads(feeds.json_body(feeds.json_feed([], BASE, BASE + "/feed.json")))["items"] == []


def test_etags():
    tag = feeds.etag(b"body")
    assert tag.startswith('"') and tag == feeds.etag(b"body") != feeds.etag(b"other")
    assert feeds.etag_matches(tag, tag) and feeds.etag_matches(f'"x", W/{tag}', tag) and feeds.etag_matches("*", tag)
    assert not feeds.etag_matches(None, tag) and not feeds.etag_matches('"x"', tag)


def test_story_query():
    q = StoryQuery.parse(MultiDict([("kind", "ruling"), ("kind", "lawsuit"), ("kind", ""), ("jurisdiction", "Chicago, IL"),
                                    ("limit", "20"), ("all", "1")]))
    assert q == StoryQuery(("ruling", "lawsuit"), ("Chicago, IL",), 20, True)
    assert StoryQuery.parse(MultiDict()) == StoryQuery()
    for bad in ([("kind", "<b>")], [("limit", "0")], [("limit", "1000")], [("limit", "x")]):
        with pytest.raises(QueryError):
            StoryQuery.parse(MultiDict(bad))
    assert StoryQuery.parse(MultiDict([("all", "0")])).all is False


@pytest.mark.parametrize("place, chicago, cook, denver", [
    ("Chicago, IL", True, False, False),
    ("City of Chicago, Illinois", True, False, False),  # matched by FIPS, however it is spelled
    ("IL", True, True, False),  # a state takes everything in it
    ("17031", False, True, False),
    ("Denver", False, False, True),  # a name without a state: any state
    ("Springfield, IL", False, False, False),
])
def test_the_jurisdiction_filter_matches_by_fips(place, chicago, cook, denver):
    q = StoryQuery(jurisdictions=(place,))
    assert [q.wants_place(_story("a", places=(j,))) for j in (CHICAGO, COOK, DENVER)] == [chicago, cook, denver]


def test_metrics_parse_with_the_prometheus_parser():
    states = [SourceState("doj-press", "feed", "https://x", polls=7, failures=2, not_modified=3, last_latency=0.25,
                          last_poll_at=1000.0, last_success_at=990.0, consecutive_failures=1),
              SourceState("ice", "html", "https://y")]
    c = Counts(sources=states, items={("doj-press", True): 2, ("doj-press", False): 10},
               stories={("ruling", True): 1, ("lawsuit", False): 2},
               deliveries={("webhook", "pending"): 2, ("webhook", "sent"): 5, ("email", "failed"): 1},
               oldest_queued={"webhook": 900.0, "email": 950.0}, digests={"sent": 3})
    h = metrics.LatencyHistogram()
    for v in (0.01, 0.2, 0.2, 40.0):
        h.observe("doj-press", v)
    text = metrics.render(c, h, now=1000.0, started_at=500.0)
    fams = {f.name: f for f in text_string_to_metric_families(text)}

    def value(name: str, **labels: str) -> float:
        fam = next(f for f in fams.values() if any(s.name == name for s in f.samples))
        return next(s.value for s in fam.samples if s.name == name and s.labels == labels)

    assert value("watcher_source_polls_total", source="doj-press") == 7
    assert value("watcher_source_polls_total", source="ice") == 0
    assert value("watcher_source_failures_total", source="doj-press") == 2
    assert value("watcher_source_not_modified_total", source="doj-press") == 3
    assert value("watcher_source_last_latency_seconds", source="doj-press") == 0.25
    assert value("watcher_source_last_success_timestamp_seconds", source="doj-press") == 990.0
    assert value("watcher_items", source="doj-press", relevant="true") == 2
    assert value("watcher_stories", kind="lawsuit", alerted="false") == 2
    assert value("watcher_deliveries", channel="webhook", status="sent") == 5
    assert value("watcher_outbox_depth", channel="webhook") == 2 and value("watcher_outbox_depth", channel="email") == 1
    assert value("watcher_outbox_oldest_queued_age_seconds", channel="webhook") == 100.0
    assert value("watcher_poll_latency_seconds_bucket", source="doj-press", le="0.25") == 3
    assert value("watcher_poll_latency_seconds_bucket", source="doj-press", le="+Inf") == 4
    assert value("watcher_poll_latency_seconds_count", source="doj-press") == 4
    assert fams["watcher_source_polls"].type == "counter" and fams["watcher_poll_latency_seconds"].type == "histogram"
    assert value("watcher_start_time_seconds") == 500.0


def test_the_dashboard_view_blanks_secrets_and_shortens_errors():
    secret = "whsec_TOPSECRETvalue123"
    s = SourceState("api", "json", "https://api.example.org/v1", last_status="failed", consecutive_failures=4,
                    flagged=True, last_error=f"HTTP 401 with token {secret} " + "x" * 500, last_poll_at=0.0)
    row = web_view.source_row(s, [secret])
    assert secret not in row.error and web_view.REDACTED in row.error and len(row.error) <= web_view.ERROR_CHARS
    assert row.status == "failed" and row.flagged and row.last_poll == "1970-01-01 00:00 UTC" and row.last_success == ""
    ok = web_view.source_row(SourceState("a", "feed", "javascript:alert(1)", last_status="ok", last_error="old"))
    assert ok.url == "" and ok.error == "" and ok.status == "ok"
    d = web_view.dashboard([_story("x y", title=HOSTILE)], [s], StoryQuery(("ruling",), ("Chicago, IL",)), [secret])
    assert d.kind == "ruling" and d.jurisdiction == "Chicago, IL" and d.failing == 1
    assert d.feed_query == "?kind=ruling&jurisdiction=Chicago%2C+IL"
    [row] = d.stories
    assert row.link == "/stories/x%20y" and "\n" not in row.title and "\x00" not in row.title
