"""The kind decision out of sample: the recorded source payloads (independently written text,
parsed by the real source kinds) and our own held-out set (tests/data/holdout_own.jsonl).

Each case below was a mistake before the generalisation pass; the expected kinds follow the
labeling rules of shared/corpus/README.md (rule 1: the main new action; rule 2: the instrument
decides; rule 3: field offices and datelines are not jurisdictions)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.conftest import RECORDINGS
from tests.test_sources import make
from watcher.classify import classify
from watcher.classify.evaluate import evaluate, load_jsonl

HOLDOUT = Path(__file__).parent / "data" / "holdout_own.jsonl"


def _entries(name: str, kind: str = "feed", **options):
    return make(kind, **options).parse((RECORDINGS / name).read_bytes())


def _entry(entries, title: str):
    return next(e for e in entries if e.title.startswith(title))


def _verdict(entry, source: str = ""):
    return classify(entry.title, entry.summary, entry.body, source=source)


# --- court publishers: a court decision is always a ruling (rule 2) -----------------------------

COURT_SEARCH = ["City of Philadelphia v. Sessions", "United States v. California",
                "City and County of San Francisco v. Trump", "City of Philadelphia v. Attorney General United States"]


@pytest.mark.parametrize("source", ["court", ""])  # the case caption is evidence on its own
@pytest.mark.parametrize("title", COURT_SEARCH)
def test_courtlistener_opinions_are_rulings(title, source):
    entries = _entries("courtlistener_search.json", "json", preset="courtlistener", token_env="COURTLISTENER_TOKEN")
    v = _verdict(_entry(entries, title), source)
    assert v.relevant and v.kind == "ruling"


def test_courtlistener_feed_opinions_are_rulings():
    entries = _entries("courtlistener_feed.xml")
    relevant = [(e.title, _verdict(e, "court")) for e in entries]
    kinds = {t: v.kind for t, v in relevant if v.relevant}
    assert kinds["City and County of San Francisco v. Trump"] == "ruling"
    assert kinds["United States v. Illinois"] == "ruling"
    assert not any(v.relevant for t, v in relevant if "Wildlife Sanctuary" in t or "Sanctuary Church" in t)


def test_court_filing_stays_a_lawsuit():
    v = classify("United States v. State of California, No. 2:18-cv-00490 (E.D. Cal.): complaint",
                 "The United States filed a complaint seeking declaratory and injunctive relief against SB 54, "
                 "California's sanctuary state law, which limits cooperation with federal immigration authorities.",
                 source="court")
    assert v.relevant and v.kind == "lawsuit"
    ruled = classify("United States v. State of Illinois: memorandum opinion and order",
                     "The complaint alleges that the TRUST Act obstructs immigration enforcement. The motions to "
                     "dismiss are granted.", source="court")
    assert ruled.kind == "ruling"


# --- executive orders and proclamations are always policy (rule 2) ----------------------------

@pytest.mark.parametrize("source", ["whitehouse", ""])
@pytest.mark.parametrize("title", ["Ending Taxpayer Subsidization of Open Borders",
                                   "Protecting the American People Against Invasion",
                                   "Protecting American Communities from Criminal Aliens"])
def test_whitehouse_orders_are_policy(title, source):
    v = _verdict(_entry(_entries("whitehouse_actions.xml"), title), source)
    assert v.relevant and v.kind == "policy"


def test_whitehouse_negatives_stay_negative():
    entries = _entries("whitehouse_actions.xml")
    for title in ("Restoring American Seafood Competitiveness", "National Ocean Month, 2025"):
        assert not _verdict(_entry(entries, title), "whitehouse").relevant


def test_local_executive_order_is_policy():
    v = classify("Executive Order No. 2025-04: Protecting Residents",
                 "By the authority vested in me as Mayor, it is hereby ordered that no city agency shall "
                 "honor an ICE detainer without a judicial warrant, consistent with our sanctuary city policy.")
    assert v.relevant and v.kind == "policy"


# --- Federal Register: the EO numbers SOURCES.md lists are strong signals -----------------------

FR_NUMBERS = {"Enhancing Public Safety in the Interior of the United States": "13768",
              "Protecting American Communities From Criminal Aliens": "14287",
              "Protecting the American People Against Invasion": "14159"}


def _fr_entries():
    """The FR recording as the daemon's real URLs return it: with `executive_order_number`."""
    doc = json.loads((RECORDINGS / "fr_documents.json").read_text())
    for r in doc["results"]:
        if r["title"] in FR_NUMBERS:
            r["executive_order_number"] = FR_NUMBERS[r["title"]]
    return make("json", preset="federal_register").parse(json.dumps(doc).encode())


@pytest.mark.parametrize("title", list(FR_NUMBERS))
def test_federal_register_orders_by_number(title):
    e = _entry(_fr_entries(), title)
    assert f"Executive Order: {FR_NUMBERS[title]}." in e.summary
    for source in ("federal_register", ""):
        v = _verdict(e, source)
        assert v.relevant and v.kind == "policy", (title, source)
        assert f"EO {FR_NUMBERS[title]}" in v.legal_refs


def test_federal_register_marine_sanctuaries_not_relevant():
    for e in _fr_entries():
        if "Marine Sanctuary" in e.title or "Wildlife Refuge" in e.title:
            assert not _verdict(e, "federal_register").relevant


@pytest.mark.parametrize("written", ["EO 14287", "Executive Order 14287", "Executive Order: 14287", "E.O. 14287",
                                     "Executive Order No. 13768", "EO 14159"])
def test_eo_number_in_any_written_form_is_relevant(written):
    assert classify("Notice of agency guidance", f"This notice implements {written}.").relevant


def test_eo_number_real_record():
    rec = json.loads((RECORDINGS / "fr_document_eo13768.json").read_text())
    e = make("json", preset="federal_register").parse(json.dumps({"results": [rec]}).encode())[0]
    v = _verdict(e, "federal_register")
    assert v.relevant and v.kind == "policy"


# --- news: letters, lists, and a reply to a letter ---------------------------------------------

@pytest.mark.parametrize("title, kind", [
    ("Bondi warns mayors of listed sanctuary jurisdictions in new letters", "letter"),
    ("These are the 35 places on the DOJ's new sanctuary jurisdiction list", "policy"),
    ("Louisville mayor agrees to changes after DOJ sanctuary jurisdiction letter", "letter"),
])
def test_google_news_kinds(title, kind):
    v = _verdict(_entry(_entries("google_news.xml"), title), "news")
    assert v.relevant and v.kind == kind


def test_google_news_false_friends_stay_negative():
    for e in _entries("google_news.xml"):
        if any(w in e.title for w in ("unborn", "Second Amendment", "Sea turtle", "horror series")):
            assert not _verdict(e, "news").relevant, e.title


# --- ICE: detainer disputes are enforcement; field offices and datelines are no jurisdiction ---

@pytest.mark.parametrize("title, places", [
    ("ICE Boston lodges detainer after Suffolk County court release", {"Suffolk County"}),
    ("ICE: Hennepin County released 12 detainer subjects", {"Hennepin County"}),
])
def test_ice_detainer_disputes_are_enforcement(title, places):
    v = _verdict(_entry(_entries("ice_news_356.xml"), title), "ice")
    assert v.relevant and v.kind == "enforcement"
    assert places <= {j.name for j in v.jurisdictions}


def test_field_office_and_dateline_are_not_jurisdictions():
    v = classify("ICE Boston lodges detainer after Suffolk County court release",
                 "BOSTON — ICE Boston said a man charged with assault was released from local custody without "
                 "notice to ICE despite an immigration detainer.", source="ice")
    assert v.kind == "enforcement"
    assert "Boston" not in {j.name for j in v.jurisdictions}
    v = classify("ICE: Hennepin County released 12 detainer subjects",
                 "ST. PAUL, Minn. — ERO St. Paul said Hennepin County jail officials released a dozen people "
                 "subject to ICE detainers.", source="ice")
    assert {j.name for j in v.jurisdictions} == {"Hennepin County"}
    assert v.kind == "enforcement"  # "jail officials" is no threat to jail anyone


# --- rule 1: background does not decide ---------------------------------------------------------

def test_older_action_in_background_does_not_decide():
    v = classify("Immigration agents fan out across Denver as administration targets sanctuary city",
                 "Federal immigration agents made arrests across Denver on Friday in an operation the "
                 "administration said targets criminals shielded by the city's sanctuary policies. The raids came "
                 "months after the City Council voted to pass an ordinance limiting cooperation with ICE.")
    assert v.kind == "enforcement"


# --- the source reaches the classifier from its callers ----------------------------------------

def test_classify_lines_passes_source():
    from watcher.classify_cli import classify_lines

    rec = {"id": "x", "title": "City of Philadelphia v. Sessions", "source": "court",
           "summary": "The City's policies on immigration detainers, sanctuary city status and ICE access to prisons."}
    out = io.StringIO()
    assert classify_lines(io.StringIO(json.dumps(rec) + "\n"), out, io.StringIO()) == 0
    assert json.loads(out.getvalue())["kind"] == "ruling"


def test_poller_passes_each_sources_publisher(feed_server, tmp_path):
    import asyncio

    from tests.conftest import write_config
    from tests.feedserver import Route, now_rfc822, rss
    from watcher.app import poll_once
    from watcher.config import load_config

    seen: list[str] = []

    def spy(title, summary="", body="", *, source=""):
        seen.append(source)
        return classify(title, summary, body, source=source)

    feed_server.routes["/c.xml"] = Route(rss([{"title": "A", "guid": "a", "link": "https://x.org/a", "pubDate": now_rfc822()}]))
    cfg = write_config(tmp_path / "s.yaml", [{"name": "opinions", "kind": "feed", "publisher": "court",
                                              "url": feed_server.url("/c.xml")}])
    asyncio.run(poll_once(load_config(cfg, {}), tmp_path / "st", classify=spy))
    assert seen == ["court"]


# --- our own held-out set -------------------------------------------------------------------

def test_own_holdout_set():
    records = load_jsonl(HOLDOUT)
    assert len(records) >= 40
    report = evaluate(records)
    assert report.overall.relevance.f1 >= 0.9, report.errors
    assert report.overall.kind_accuracy >= 0.8, report.errors


@pytest.mark.parametrize("name", ["holdout_b.jsonl", "holdout_c.jsonl", "holdout_d.jsonl", "holdout_e.jsonl",
                                  "holdout_f.jsonl", "holdout_g.jsonl", "holdout_h.jsonl"])
def test_independent_sets_meet_the_targets(name):
    """Sets written by other hands to the labeling rules: b (2017-2020), c (2021-2025), d (local and state
    governments), e (the federal voice and the courts), f (long articles with their bodies), g (a mixed
    feed), h (hard boundaries). Each was measured before any rule changed for it (kind accuracy b 0.825,
    c 0.772, d 0.789, e 0.842, f 0.964; relevance F1 d 0.954, e 0.964, f 0.933); the rules changed since
    were general ones, each with a test of its own in test_classify_rules.py. g and h were written after
    those rules and never used to change one (0.990 / 0.923 / 0.912 and 0.972 / 0.873 / 0.928)."""
    report = evaluate(load_jsonl(HOLDOUT.parent / name))
    assert report.overall.relevance.f1 >= 0.95, report.errors
    assert report.overall.kind_accuracy >= 0.85, report.errors
    assert report.overall.places.f1 >= 0.90, report.errors
