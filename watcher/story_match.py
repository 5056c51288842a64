"""The evidence that an item reports the event of a story, as one score.

An item and a story of the same kind are compared on four things, each adding
to (or taking from) the score:

* time: reports of one action come out within a day or two of each other;
* jurisdictions: shared parties count for; disjoint parties, not even in the
  same state, count hard against;
* text: cosine of the item's weighted tokens with the story's signature;
* references: a shared executive order, bill, docket, case or operation counts
  for, two different ones count against.

`StoryIndex` (in `stories`) joins an item to the best story scoring at least
its threshold. Pure functions and frozen values only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable, Mapping

from watcher.domain import Jurisdiction, Verdict
from watcher.story_text import normalise_reference, reference_agreement, references, text_vector

if TYPE_CHECKING:
    from watcher.stories import StoryState

BOTH_NATIONAL = 0.1
SHARED_PARTY = 0.1  # plus up to SHARED_PARTIES for the share of parties in common
SHARED_PARTIES = 0.3
DISJOINT_PARTIES = -0.6
REFERENCE_WEIGHT = 0.3


def as_utc(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)


def jurisdiction_key(j: Jurisdiction) -> str:
    """FIPS code when known, else state and name: the identity of a jurisdiction."""
    return j.fips or f"{j.state}:{j.name.lower()}"


def _norm(vector: Mapping[str, float]) -> float:
    return math.sqrt(sum(w * w for w in vector.values()))


@dataclass(frozen=True)
class ItemEvidence:
    """What one item brings to the comparison, computed once per item."""

    kind: str
    when: datetime
    keys: frozenset[str]
    states: frozenset[str]
    vector: Mapping[str, float]
    norm: float
    refs: frozenset[str]

    @classmethod
    def of(cls, title: str, summary: str, verdict: Verdict, when: datetime) -> "ItemEvidence":
        refs = references(f"{title}. {summary}") | {normalise_reference(r) for r in verdict.legal_refs}
        vector = text_vector(title, summary)
        return cls(
            kind=verdict.kind or "unknown",
            when=as_utc(when),
            keys=frozenset(jurisdiction_key(j) for j in verdict.jurisdictions),
            states=frozenset(j.state for j in verdict.jurisdictions if j.state),
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
    vector: Mapping[str, float]
    norm: float
    refs: frozenset[str]

    @classmethod
    def of(cls, state: "StoryState") -> "StoryProfile":
        vector = dict(state.signature)
        return cls(
            start=as_utc(state.start),
            end=as_utc(state.end),
            keys=frozenset(jurisdiction_key(j) for j in state.jurisdictions),
            states=frozenset(j.state for j in state.jurisdictions if j.state),
            vector=vector,
            norm=_norm(vector),
            refs=state.refs,
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
    if not item.keys and not story.keys:
        return BOTH_NATIONAL
    if not item.keys or not story.keys:
        return 0.0
    shared = len(item.keys & story.keys)
    if shared:
        return SHARED_PARTY + SHARED_PARTIES * shared / min(len(item.keys), len(story.keys))
    if item.states & story.states:
        return 0.0
    return DISJOINT_PARTIES


def text_score(item: ItemEvidence, story: StoryProfile) -> float:
    if not item.norm or not story.norm:
        return 0.0
    sv = story.vector
    dot = sum(w * sv[t] for t, w in item.vector.items() if t in sv)
    return dot / (item.norm * story.norm)


def score(item: ItemEvidence, story: StoryProfile) -> float:
    """Evidence that the item reports the story's event; the index joins at its threshold."""
    s = time_score(time_gap(item.when, story.start, story.end))
    s += jurisdiction_score(item, story)
    if item.refs and story.refs:
        s += REFERENCE_WEIGHT * reference_agreement(item.refs, story.refs)
    return s + text_score(item, story)


def merged_signature(signature: Iterable[tuple[str, float]], vector: Mapping[str, float],
                     size: int) -> tuple[tuple[str, float], ...]:
    """A story's signature after one more item: summed weights, the `size` heaviest kept."""
    weights = dict(signature)
    for token, w in vector.items():
        weights[token] = weights.get(token, 0.0) + w
    top = sorted(weights.items(), key=lambda tw: (-tw[1], tw[0]))[:size]
    return tuple((t, round(w, 4)) for t, w in top)
