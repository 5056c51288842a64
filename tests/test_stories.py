"""Story clustering: the pure core (watcher.stories) and its evaluation."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watcher.domain import Jurisdiction, Verdict
from watcher.stories import (
    AGENCY,
    COURT,
    NEWS,
    ClusterConfig,
    StoryIndex,
    StoryInput,
    StoryState,
    cluster_records,
    source_rank,
    story_id_for,
)
from watcher.story_eval import gold_verdict, pairwise_scores, story_report

CORPUS = Path("/work/shared/corpus/dev.jsonl")

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
HARBORTON = Jurisdiction("Harborton", "OR", "city", "4199901")
OREGON = Jurisdiction("Oregon", "OR", "state", "41")
MILLBROOK = Jurisdiction("Millbrook County", "VT", "county", "50999")


def item(
    item_id: str,
    title: str,
    summary: str = "",
    *,
    source: str = "news",
    kind: str = "letter",
    places: tuple[Jurisdiction, ...] = (HARBORTON,),
    at: datetime = T0,
    url: str = "",
) -> StoryInput:
    verdict = Verdict(relevant=True, kind=kind, score=0.9, jurisdictions=places)
    return StoryInput(item_id, source, title, summary, url or f"https://example.org/{item_id}", at, verdict)


# -- the two behaviours the issue names ---------------------------------------------------------------


def test_three_differently_written_reports_of_one_event_make_one_story() -> None:
    index = StoryIndex()
    release = item(
        "doj-1",
        "Justice Department Warns Harborton and Millbrook County to Certify Information Sharing",
        "The Department of Justice today sent letters to officials in Harborton, Oregon and Millbrook County "
        "asking them to document within 30 days that their employees may share immigration status with "
        "federal agents, or lose Byrne JAG grant money.",
        source="doj",
        places=(HARBORTON, MILLBROOK),
    )
    wire = item(
        "ap-1",
        "DOJ gives two sanctuary jurisdictions a month to prove they cooperate",
        "Federal officials on Tuesday told Harborton and a Vermont county to show they are not blocking "
        "communication with immigration authorities. The letters say public-safety grants are at stake.",
        places=(HARBORTON, MILLBROOK),
        at=T0 + timedelta(hours=3),
    )
    local = item(
        "harborton-herald-1",
        "Mayor says Harborton will answer federal letter, won't change policy",
        "Harborton's mayor said Wednesday the city received the Justice Department letter about its "
        "sanctuary ordinance and would respond by the deadline without changing how police work.",
        source="harborton-herald",
        at=T0 + timedelta(hours=20),
    )
    a, b, c = (index.assign(x) for x in (release, wire, local))
    assert a.created and not b.created and not c.created
    assert a.story_id == b.story_id == c.story_id
    assert b.event_type == c.event_type == "story.updated"
    story = index.get(a.story_id)
    assert story is not None and story.item_ids == ("doj-1", "ap-1", "harborton-herald-1")
    assert {j.name for j in story.jurisdictions} == {"Harborton", "Millbrook County"}


def test_two_events_a_month_apart_about_one_city_make_two_stories() -> None:
    index = StoryIndex()
    march = item(
        "n-1",
        "Justice Department sues Harborton over sanctuary ordinance",
        "The lawsuit says Harborton's ordinance blocks immigration enforcement.",
        kind="lawsuit",
    )
    april = item(
        "n-2",
        "Justice Department files second suit against Harborton, over jail access",
        "A new complaint says Harborton's jail refuses ICE access.",
        kind="lawsuit",
        at=T0 + timedelta(days=31),
    )
    assert index.assign(march).story_id != index.assign(april).story_id
    assert len(index) == 2


def test_a_threat_in_march_and_the_lawsuit_in_august_are_two_stories() -> None:
    index = StoryIndex()
    threat = item("n-1", "Attorney general threatens to sue Harborton over sanctuary ordinance", kind="legal_threat")
    suit = item(
        "n-2", "Attorney general sues Harborton over sanctuary ordinance", kind="lawsuit", at=T0 + timedelta(days=150)
    )
    assert index.assign(threat).story_id != index.assign(suit).story_id


# -- identity, title, kind, caps ----------------------------------------------------------------------


def _stream() -> list[StoryInput]:
    out = []
    for n in range(30):
        place = (HARBORTON, MILLBROOK, OREGON)[n % 3]
        out.append(
            item(
                f"i{n}",
                f"Report {n // 2} on {place.name} detainer policy",
                f"Story number {n // 2}.",
                kind=("letter", "lawsuit")[n % 2],
                places=(place,),
                at=T0 + timedelta(hours=9 * n),
            )
        )
    return out


def test_story_ids_are_deterministic_and_derive_from_the_first_item() -> None:
    index = StoryIndex()
    first = [index.assign(x).story_id for x in _stream()]
    index = StoryIndex()
    second = [index.assign(x).story_id for x in _stream()]
    assert first == second
    for state in index.states():
        assert state.id == story_id_for(state.item_ids[0])


def test_the_title_comes_from_the_most_authoritative_source() -> None:
    index = StoryIndex()
    news = item(
        "n", "Judge blocks Harborton funding cut", "A federal judge blocked the cut to Harborton grants.", kind="ruling"
    )
    court = item(
        "c",
        "Harborton v. Barr: order granting preliminary injunction",
        "Order blocking the funding cut to Harborton.",
        source="court",
        kind="ruling",
        at=T0 + timedelta(hours=2),
    )
    city = item(
        "s",
        "Mayor welcomes ruling protecting Harborton grants",
        "The court blocked the Harborton funding cut.",
        source="state",
        kind="ruling",
        at=T0 + timedelta(hours=3),
    )
    assert index.assign(news).state.title == news.title
    joined = index.assign(court)
    assert joined.title_changed and joined.state.title == court.title and joined.state.title_rank == COURT
    later = index.assign(city)
    assert later.story_id == joined.story_id and not later.title_changed and later.state.title == court.title


@pytest.mark.parametrize(
    "source, url, rank",
    [
        ("court", "", COURT),
        ("courtlistener-opinions", "", COURT),
        ("doj-press", "", AGENCY),
        ("ice", "", AGENCY),
        ("whitehouse", "", AGENCY),
        ("federal-register", "", AGENCY),
        ("news", "https://www.justice.gov/x", NEWS),
        ("google-news", "", NEWS),
        ("", "https://www.supremecourt.gov/opinions/x.pdf", COURT),
        ("", "https://www.chicago.gov/press", AGENCY),
        ("", "https://apnews.com/article/x", NEWS),
    ],
)
def test_source_rank(source: str, url: str, rank: int) -> None:
    assert source_rank(source, url) == rank


def test_a_change_of_kind_starts_a_new_story() -> None:
    index = StoryIndex()
    threat = item("a", "Justice Department threatens to sue Harborton over sanctuary law", kind="legal_threat")
    filed = item(
        "b", "Justice Department sues Harborton over sanctuary law", kind="lawsuit", at=T0 + timedelta(hours=6)
    )
    first, second = index.assign(threat), index.assign(filed)
    assert second.created and second.story_id != first.story_id
    assert index.get(first.story_id).kind == "legal_threat" and index.get(second.story_id).kind == "lawsuit"


def test_a_story_never_spans_more_than_max_span() -> None:
    config = ClusterConfig(max_span=timedelta(days=3))
    index = StoryIndex(config)
    ids = [
        index.assign(item(f"x{n}", "Harborton letter on detainers", "Same letter.", at=T0 + timedelta(days=n))).story_id
        for n in range(8)
    ]
    assert len(set(ids)) > 1
    for state in index.states():
        assert state.end - state.start <= config.max_span


def test_a_story_never_holds_more_than_max_items() -> None:
    index = StoryIndex(ClusterConfig(max_items=3))
    ids = [index.assign(item(f"x{n}", "Harborton letter on detainers", "Same letter.")).story_id for n in range(7)]
    assert [ids.count(i) for i in dict.fromkeys(ids)] == [3, 3, 1]


def test_an_item_seen_twice_changes_nothing() -> None:
    index = StoryIndex()
    first = index.assign(item("a", "Harborton letter"))
    again = index.assign(item("a", "Harborton letter, updated headline"))
    assert again.duplicate and again.event_type is None and again.story_id == first.story_id
    assert index.get(first.story_id).item_count == 1


def test_disjoint_jurisdictions_on_the_same_day_stay_apart() -> None:
    index = StoryIndex()
    a = index.assign(item("a", "Justice Department sues Harborton over sanctuary policies", kind="lawsuit"))
    b = index.assign(
        item(
            "b",
            "Justice Department sues Millbrook County over sanctuary policies",
            kind="lawsuit",
            places=(MILLBROOK,),
            at=T0 + timedelta(hours=1),
        )
    )
    assert a.story_id != b.story_id


def test_parallel_actions_against_two_counties_of_one_state_stay_apart() -> None:
    index = StoryIndex()
    state = Jurisdiction("Vermont", "VT", "state", "50")
    other = Jurisdiction("Ashford County", "VT", "county", "50998")
    text = "The state attorney general filed suit, saying the county jail ignores immigration detainers under the new state law."
    first = index.assign(
        item(
            "a",
            "Attorney General Sues Millbrook County Over Jail Detainer Policy",
            text,
            source="state",
            kind="lawsuit",
            places=(state, MILLBROOK),
        )
    )
    second = index.assign(
        item(
            "b",
            "Attorney General Sues Ashford County Over Jail Detainer Policy",
            text,
            source="state",
            kind="lawsuit",
            places=(state, other),
            at=T0 + timedelta(hours=2),
        )
    )
    assert first.story_id != second.story_id


# -- persistence and eviction --------------------------------------------------------------------------


def test_state_round_trips_through_a_plain_dict() -> None:
    index = StoryIndex()
    for x in _stream():
        index.assign(x)
    for state in index.states():
        plain = json.loads(json.dumps(state.to_dict()))
        assert StoryState.from_dict(plain) == state


def test_a_reloaded_index_assigns_like_the_live_one() -> None:
    stream = _stream()
    live = StoryIndex()
    for x in stream[:20]:
        live.assign(x)
    reloaded = StoryIndex.load(StoryState.from_dict(json.loads(json.dumps(s.to_dict()))) for s in live.states())
    for x in stream[20:]:
        assert live.assign(x).story_id == reloaded.assign(x).story_id


def test_evict_forgets_old_stories() -> None:
    index = StoryIndex()
    old = index.assign(item("old", "Harborton letter", at=T0 - timedelta(days=60)))
    new = index.assign(item("new", "Harborton letter"))
    assert index.evict(T0 - timedelta(days=11)) == [old.story_id]
    assert old.story_id not in index and new.story_id in index
    assert index.story_of("old") is None and index.candidates("letter", T0 - timedelta(days=60)) == []


# -- one file of records ---------------------------------------------------------------------------------


def test_cluster_records_gives_irrelevant_records_no_story_and_ignores_file_order() -> None:
    records = [
        {"id": "1", "title": "Harborton gets DOJ letter", "published": "2026-03-10T12:00:00Z", "source": "news"},
        {"id": "2", "title": "Bird sanctuary opens", "published": "2026-03-10T13:00:00Z"},
        {"id": "3", "title": "DOJ letter to Harborton", "published": "2026-03-10T09:00:00Z", "source": "doj"},
    ]

    def classify_fn(title: str, summary: str, body: str) -> Verdict:
        relevant = "Harborton" in title
        return Verdict(relevant, "letter" if relevant else None, 1.0, (HARBORTON,) if relevant else ())

    stories = cluster_records(records, classify_fn)
    assert stories[1] is None and stories[0] == stories[2] == story_id_for("3")
    assert cluster_records(records[::-1], classify_fn) == stories[::-1]


# -- evaluation -------------------------------------------------------------------------------------------


def test_pairwise_scores() -> None:
    gold = ["e1", "e1", "e1", "e2", None]
    assert pairwise_scores(gold, ["a", "a", "a", "b", "z"]) == (1.0, 1.0, 1.0)
    p, r, f = pairwise_scores(gold, ["a", "a", "b", "b", "b"])  # pairs (0,1) right, (2,3) wrong
    assert (p, r) == (0.5, 1 / 3) and f == pytest.approx(0.4)
    assert pairwise_scores(gold, [None] * 5)[:2] == (1.0, 0.0)
    assert "split e1" in story_report(gold, ["a", "a", "b", "b", "b"])


def _corpus() -> list[dict]:
    if not CORPUS.exists():
        pytest.skip("development corpus not present")
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]


def _check_dev(records: list[dict], stories: list[str | None]) -> None:
    gold = [r["gold"]["event"] if r["gold"]["relevant"] else None for r in records]
    p, r, f = pairwise_scores(gold, stories)
    report = story_report(gold, stories, [x["id"] for x in records], [x["title"] for x in records])
    assert f >= 0.90 and p >= 0.85 and r >= 0.85, report


def test_dev_corpus_stories_with_gold_verdicts() -> None:
    records = _corpus()
    _check_dev(records, cluster_records(records, verdicts=[gold_verdict(r) for r in records]))


def test_dev_corpus_stories_are_independent_of_file_order() -> None:
    records = _corpus()
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    by_id = dict(
        zip((r["id"] for r in shuffled), cluster_records(shuffled, verdicts=[gold_verdict(r) for r in shuffled]))
    )
    assert [by_id[r["id"]] for r in records] == cluster_records(records, verdicts=[gold_verdict(r) for r in records])


def test_dev_corpus_stories_with_the_real_classifier() -> None:
    classify_module = pytest.importorskip("watcher.classify")
    if not hasattr(classify_module, "classify"):
        pytest.skip("watcher.classify.classify is not available yet")
    records = _corpus()
    _check_dev(records, cluster_records(records, classify_module.classify))
