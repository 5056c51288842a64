"""The evidence that an item reports the event of a story, as one score.

An item and a story of the same kind are compared on four things, each adding
to (or taking from) the score:

* time: reports of one action come out within a day or two of each other;
* jurisdictions: shared parties count for; disjoint parties, not even in the
  same state, count hard against; titles that name different cities or counties
  (neither side listing the other's) veto the match;
* text: cosine of the item's weighted tokens with the story's signature;
* references: a shared docket, case caption or named operation (or, for
  legislation, bill; for policy, executive order) counts for, two different
  ones count against.

`StoryIndex` (in `stories`) joins an item to the best story scoring at least
its threshold; `cross_kind_match` is its narrow exception for rewrites read as
another kind. Pure functions and frozen values only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from watcher.domain import Jurisdiction, Verdict
from watcher.story_state import StoryState
from watcher.story_text import (
    fold,
    normalise_reference,
    reference_agreement,
    references,
    text_vector,
)

BOTH_NATIONAL = 0.0
SHARED_PARTY = 0.1  # plus up to SHARED_PARTIES for the share of parties in common
SHARED_PARTIES = 0.3
DISJOINT_PARTIES = -0.6  # no party and no state in common
OTHER_LOCALITIES = -0.1  # different cities or counties of one state
DIFFERENT_HEADLINE_PLACES = -10.0  # titles naming different cities or counties: a veto
REFERENCE_WEIGHT = 0.3


def as_utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def jurisdiction_key(j: Jurisdiction) -> str:
    """FIPS code when known, else state and name: the identity of a jurisdiction."""
    return j.fips or f"{j.state}:{j.name.lower()}"


def is_local(j: Jurisdiction) -> bool:
    """A county or city (from `kind`, else from the length of the FIPS code, else from the name)."""
    if j.kind:
        return j.kind != "state"
    if j.fips:
        return len(j.fips) > 2
    return j.name.endswith(("County", "Parish", "Borough")) or j.name not in _STATE_NAMES


_STATE_NAMES = frozenset(
    """
    Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho Illinois
    Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota Mississippi Missouri
    Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia Washington
    Wisconsin Wyoming
    """.split()  # noqa: SIM905
) | {
    "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Rhode Island",
    "South Carolina", "South Dakota", "West Virginia", "District of Columbia", "Puerto Rico",
}  # fmt: skip


def _words_of(text: str) -> str:
    return " " + " ".join(_NON_WORD.sub(" ", fold(text)).lower().split()) + " "


_NON_WORD = re.compile(r"[^\w-]+")
_LOCAL_SUFFIX = re.compile(r" (county|parish|borough) $")


def headline_places(title: str, jurisdictions: Iterable[Jurisdiction]) -> frozenset[str]:
    """Keys of the counties and cities among `jurisdictions` that `title` names."""
    local = [j for j in jurisdictions if is_local(j)]
    if not local:
        return frozenset()
    words = _words_of(title)
    out = set()
    for j in local:
        name = _words_of(j.name)
        if name in words or _LOCAL_SUFFIX.sub(" ", name) in words:
            out.add(jurisdiction_key(j))
    return frozenset(out)


def _norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in vector.values()))


@dataclass(frozen=True)
class ItemEvidence:
    """What one item brings to the comparison, computed once per item."""

    kind: str
    when: datetime
    keys: frozenset[str]
    states: frozenset[str]
    local: frozenset[str]  # keys of the counties and cities among `keys`
    headline: frozenset[str]  # keys of the counties and cities named in the title
    vector: Mapping[str, float]
    norm: float
    refs: frozenset[str]

    @classmethod
    def of(cls, title: str, summary: str, verdict: Verdict, when: datetime) -> ItemEvidence:
        refs = references(f"{title}. {summary}") | {normalise_reference(r) for r in verdict.legal_refs}
        vector = text_vector(title, summary)
        return cls(
            kind=verdict.kind or "unknown",
            when=as_utc(when),
            keys=frozenset(jurisdiction_key(j) for j in verdict.jurisdictions),
            states=frozenset(j.state for j in verdict.jurisdictions if j.state),
            local=frozenset(jurisdiction_key(j) for j in verdict.jurisdictions if is_local(j)),
            headline=headline_places(title, verdict.jurisdictions),
            vector=vector,
            norm=_norm(vector),
            refs=frozenset(refs),
        )


@dataclass(frozen=True)
class StoryProfile:
    """A story as the comparison needs it: derived once from its StoryState, kept by the index."""

    start: datetime
    end: datetime
    keys: frozenset[str]
    states: frozenset[str]
    local: frozenset[str]
    headline: frozenset[str]
    vector: Mapping[str, float]
    norm: float
    refs: frozenset[str]
    size: int  # items in the story
    kind: str

    @classmethod
    def of(cls, state: StoryState) -> StoryProfile:
        vector = dict(state.signature)
        return cls(
            start=as_utc(state.start),
            end=as_utc(state.end),
            keys=frozenset(jurisdiction_key(j) for j in state.jurisdictions),
            states=frozenset(j.state for j in state.jurisdictions if j.state),
            local=frozenset(jurisdiction_key(j) for j in state.jurisdictions if is_local(j)),
            headline=headline_places(state.title, state.jurisdictions),
            vector=vector,
            norm=_norm(vector),
            refs=state.refs,
            size=len(state.item_ids),
            kind=state.kind,
        )


def time_gap(when: datetime, start: datetime, end: datetime) -> timedelta:
    """How far `when` lies outside the interval [start, end] (zero inside it)."""
    return max(start - when, when - end, timedelta(0))


def time_score(gap: timedelta) -> float:
    hours = gap.total_seconds() / 3600
    if hours <= 24:
        return 0.5
    if hours <= 48:
        return 0.35
    if hours <= 96:
        return 0.15
    return 0.0


def jurisdiction_score(item: ItemEvidence, story: StoryProfile) -> float:
    """Shared parties count for; different localities count against, more so across states.

    When both titles name different counties or cities (and neither side lists the
    other's), the targets differ: a state attorney general's suits against two counties
    share the state but are two actions. Otherwise, when both sides name counties or
    cities, those decide. A side naming
    only states is neutral towards localities of those states (a report may say
    "Illinois" where another says "Chicago").
    """
    if not item.keys and not story.keys:
        return BOTH_NATIONAL
    if not item.keys or not story.keys:
        return 0.0
    if item.headline and story.headline and not item.headline & story.keys and not story.headline & item.keys:
        return DIFFERENT_HEADLINE_PLACES
    mine, theirs = (item.local, story.local) if item.local and story.local else (item.keys, story.keys)
    shared = len(mine & theirs)
    if shared:
        return SHARED_PARTY + SHARED_PARTIES * shared / min(len(mine), len(theirs))
    if not item.states & story.states:
        return DISJOINT_PARTIES
    if item.local and story.local:
        return OTHER_LOCALITIES
    return 0.0


def text_score(item: ItemEvidence, story: StoryProfile) -> float:
    if not item.norm or not story.norm:
        return 0.0
    iv, sv = item.vector, story.vector
    shared = iv.keys() & sv.keys()
    if not shared:
        return 0.0
    return sum(iv[t] * sv[t] for t in shared) / (item.norm * story.norm)


def score(item: ItemEvidence, story: StoryProfile, gap: timedelta | None = None) -> float:
    """Evidence that the item reports the story's event; the index joins at its threshold."""
    s = time_score(time_gap(item.when, story.start, story.end) if gap is None else gap)
    s += jurisdiction_score(item, story)
    if item.refs and story.refs:
        s += REFERENCE_WEIGHT * reference_agreement(item.refs, story.refs, item.kind)
    return s + text_score(item, story)


def merged_signature(
    signature: Iterable[tuple[str, float]], vector: Mapping[str, float], size: int
) -> tuple[tuple[str, float], ...]:
    """A story's signature after one more item: summed weights, the `size` heaviest kept."""
    weights = dict(signature)
    for token, w in vector.items():
        weights[token] = weights.get(token, 0.0) + w
    top = sorted(weights.items(), key=lambda tw: (-tw[1], tw[0]))[:size]
    return tuple((t, round(w, 4)) for t, w in top)


CROSS_KIND_GAP = timedelta(hours=24)
CROSS_KIND_TEXT = 0.36
DISTINCT_KINDS = frozenset({"lawsuit", "ruling"})  # a filing or a decision is always its own story


def cross_kind_match(item: ItemEvidence, story: StoryProfile, gap: timedelta) -> float | None:
    """The text score when an item of another kind is plainly a rewrite of the story's report.

    The kind comes from the classifier, which can read two rewrites of one report
    differently. An item joins a story of another kind only when it comes out the
    same day, names a party of the story (or both name none) and repeats much of
    its wording; anything less keeps kinds apart. A suit or a ruling never joins, nor
    is joined by, another kind: a threat and then the suit are two stories.
    """
    if item.kind in DISTINCT_KINDS or story.kind in DISTINCT_KINDS:
        return None
    if gap > CROSS_KIND_GAP or jurisdiction_score(item, story) <= 0.0:
        return None
    t = text_score(item, story)
    return t if t >= CROSS_KIND_TEXT else None
