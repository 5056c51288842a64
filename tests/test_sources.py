"""Each source kind on a recording of its real counterpart."""

from __future__ import annotations

import json

import pytest

from tests.conftest import RECORDINGS
from watcher.sources.base import ParseError, kind_class


def make(kind: str, **options):
    cls = kind_class(kind)
    opts = cls.Options.model_validate({"name": "t", "kind": kind, "url": "https://example.org/", **options})
    return cls(opts, {"COURTLISTENER_TOKEN": "tok123"})


def test_doj_api_real_sample():
    doc = json.loads((RECORDINGS / "doj_api_press_releases_page0.json").read_text())
    entries = make("json", preset="doj").parse(json.dumps(doc).encode())
    assert len(entries) == len(doc["results"]) == 53
    first, raw = entries[0], doc["results"][0]
    assert first.key == raw["uuid"] and first.title == raw["title"].strip()
    assert first.url.startswith("https://www.justice.gov/")
    assert first.published is not None and int(first.published.timestamp()) == int(raw["date"])
    assert "<" not in first.body and len(first.body) > 200  # HTML body turned to text


def test_doj_api_recording_keeps_uuids_and_reads_2025_items():
    entries = make("json", preset="doj").parse((RECORDINGS / "doj_api.json").read_bytes())
    assert len(entries) == 10 and len({e.key for e in entries}) == 10
    assert any(e.published and e.published.year == 2025 for e in entries)


def test_federal_register_documents():
    entries = make("json", preset="federal_register").parse((RECORDINGS / "fr_documents.json").read_bytes())
    assert len(entries) >= 6
    eo = next(e for e in entries if "Enhancing Public Safety in the Interior" in e.title)
    assert eo.key == "2017-02102" and eo.url.startswith("https://www.federalregister.gov/documents/2017/01/30/")
    assert eo.published.date().isoformat() == "2017-01-30"


def test_federal_register_real_record_with_eo_number():
    rec = json.loads((RECORDINGS / "fr_document_eo13768.json").read_text())
    entries = make("json", preset="federal_register").parse(json.dumps({"results": [rec]}).encode())
    assert entries[0].key == rec["document_number"]
    assert f"Executive Order: {rec['executive_order_number']}." in entries[0].summary


def test_courtlistener_search_api_and_token_header():
    src = make("json", preset="courtlistener", token_env="COURTLISTENER_TOKEN")
    assert src.request_headers()["Authorization"] == "Token tok123"
    entries = src.parse((RECORDINGS / "courtlistener_search.json").read_bytes())
    assert len(entries) == 5
    assert all(e.url.startswith("https://www.courtlistener.com/opinion/") for e in entries)
    assert all(e.key.isdigit() for e in entries)
    sample = make("json", preset="courtlistener").parse((RECORDINGS / "courtlistener_v4_search_type_o_doc_example.json").read_bytes())
    assert sample and sample[0].title


@pytest.mark.parametrize(
    "name, minimum",
    [("doj_rss.xml", 8), ("ice_news_356.xml", 8), ("whitehouse_actions.xml", 6), ("govinfo_ca9.xml", 6),
     ("courtlistener_feed.xml", 6), ("google_news.xml", 8), ("atom_generic.xml", 6)],
)
def test_feeds(name, minimum):
    body = (RECORDINGS / name).read_bytes()
    fast = make("feed").parse(body)
    slow = make("feed", parser="feedparser").parse(body)
    assert len(fast) >= minimum
    # the fast path and the fallback agree on what matters
    assert [(e.key, e.title, e.url) for e in fast] == [(e.key, e.title, e.url) for e in slow]
    assert [e.published for e in fast] == [e.published for e in slow]
    assert all(e.title and e.published for e in fast)
    assert len({e.key for e in fast}) == len(fast)


def test_whitehouse_body_from_content_encoded():
    entries = make("feed").parse((RECORDINGS / "whitehouse_actions.xml").read_bytes())
    assert all(e.key.startswith("https://www.whitehouse.gov/?p=") for e in entries)
    assert any(len(e.body) > 200 and "<" not in e.body for e in entries)


def test_ice_newsroom_html():
    src = make("html", url="https://www.ice.gov/newsroom?page=0", item="div.views-row div.news-wrapper",
               title="div.news-title a", date="div.news-date", summary="div.news-body")
    entries = src.parse((RECORDINGS / "ice_newsroom.html").read_bytes())
    assert len(entries) == 10
    assert all(e.url.startswith(("https://www.ice.gov/news/releases/", "https://www.ice.gov/news/statements/")) for e in entries)
    assert all(e.published and e.summary for e in entries)


def test_dhs_press_html():
    src = make("html", url="https://www.dhs.gov/news-releases/press-releases", item="div.views-row",
               title="h3 a, .views-field-title a", date="time", date_attr="datetime")
    entries = src.parse((RECORDINGS / "dhs_press.html").read_bytes())
    assert len(entries) >= 6 and all(e.published and e.url.startswith("https://www.dhs.gov/") for e in entries)


def test_list_page_rows():
    src = make("list", scope="main article", rows="li", label="the DOJ list")
    rows = src.parse((RECORDINGS / "doj_sanctuary_list_v1.html").read_bytes())
    names = [r.title for r in rows]
    assert len(rows) == 35 and "Paterson, NJ" in names and "California" in names
    assert src.describe("added", "Boulder County, CO") == (
        "Added to the DOJ list: Boulder County, CO", "Added to the DOJ list: Boulder County, CO.")


@pytest.mark.parametrize("body", [b"", b"not a feed at all", b"<html><body>Access denied</body></html>", b"\xff\xfe\x00garbage"])
def test_unreadable_feeds_are_parse_errors(body):
    with pytest.raises(ParseError):
        make("feed").parse(body)


def test_entity_declarations_are_refused():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<rss version="2.0"><channel><title>&lol2;</title><item><title>&lol2;</title></item></channel></rss>"""
    with pytest.raises(ParseError, match="entities"):
        make("feed").parse(bomb)
    xxe = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><rss><channel><item><title>&x;</title></item></channel></rss>"""
    with pytest.raises(ParseError):
        make("feed").parse(xxe)


_ACCENTED = '<rss version="2.0"><channel><title>t</title><item><title>Año — “Señor”</title><guid>1</guid>' \
    '<description>café</description></item></channel></rss>'


@pytest.mark.parametrize("parser", ["auto", "feedparser"])
@pytest.mark.parametrize(("declared", "codec", "bom"), [
    ("iso-8859-1", "utf-8", b"\xef\xbb\xbf"),  # a UTF-8 feed whose declaration was never updated
    ("utf-16", "utf-16-le", b"\xff\xfe"),
    ("iso-8859-1", "utf-16-be", b"\xfe\xff"),
    ("utf-8", "utf-32-le", b"\xff\xfe\x00\x00"),
])
def test_a_byte_order_mark_decides_the_encoding(parser, declared, codec, bom):
    body = bom + (f'<?xml version="1.0" encoding="{declared}"?>' + _ACCENTED).encode(codec)
    [entry] = make("feed", parser=parser).parse(body)
    assert (entry.title, entry.summary) == ("Año — “Señor”", "café")


def test_declared_latin1_without_a_mark_is_read_as_declared():
    body = '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>t</title>' \
        '<item><title>Año café</title><guid>1</guid></item></channel></rss>'
    [entry] = make("feed").parse(body.encode("iso-8859-1"))
    assert entry.title == "Año café"


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-16"])
def test_entity_declarations_in_utf16_are_refused(codec):
    bomb = '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>' \
        '<rss version="2.0"><channel><title>&b;</title><item><title>&b;</title><guid>1</guid></item></channel></rss>'
    with pytest.raises(ParseError, match="entities"):
        make("feed").parse(bomb.encode(codec))


def test_json_errors_are_parse_errors():
    src = make("json", preset="doj")
    with pytest.raises(ParseError, match="not JSON"):
        src.parse(b"<html>")
    with pytest.raises(ParseError, match="no list of items"):
        src.parse(b'{"metadata": {}}')
