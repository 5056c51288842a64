"""Stories: reports of the same real-world event, grouped as items arrive.

Each relevant item is placed, once, into the best-matching recent story of the
same kind or starts a new one; nothing already placed is ever re-clustered.
A candidate story must have the item's kind and lie within a short time window
of the item's date; among those, a score adds up the evidence:

* time: reports of one action come out within a day or two of each other;
* jurisdictions: shared parties count for, disjoint parties count hard against;
* text: weighted token cosine of title and summary against the story's
  signature (see `story_text`);
* references: a shared executive order, bill, docket, case or operation counts
  for, two different ones count against.

Guard rails: a story never spans more than `max_span` or holds more than
`max_items` items, and its kind never changes (a threatened suit that is then
filed is a new story). Story ids derive from the first item's id, so the same
items in the same order give the same stories, in the daemon and in
`watcher classify --stories` alike.

Candidate retrieval goes through an inverted index keyed by (kind, day), so
`assign` costs O(stories of that kind within the window), not O(all stories).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from watcher.domain import Jurisdiction, Verdict
from watcher.story_match import (
    ItemEvidence,
    StoryProfile,
    as_utc,
    jurisdiction_key,
    merged_signature,
    score,
    time_gap,
)

COURT, AGENCY, NEWS = 0, 1, 2  # title authority: lower wins

_COURT_WORDS = frozenset({"court", "courts", "courtlistener", "uscourts", "supremecourt", "pacer", "scotus", "opinion", "opinions", "docket"})
_AGENCY_WORDS = frozenset(
    {"doj", "justice", "ice", "dhs", "cbp", "uscis", "whitehouse", "wh", "federalregister", "fr", "federal", "register",
     "state", "gov", "governor", "ag", "attorney", "mayor", "city", "county", "agency", "official", "press", "dot", "hhs"}
)


def source_rank(source: str, url: str = "") -> int:
    """Authority of a source for the story title: COURT before AGENCY documents before NEWS.

    `source` is a source type ("court", "doj", "news", ...) or a feed name ("doj-press",
    "courtlistener-opinions"); when it says nothing, the URL's host decides.
    """
    words = set(re.split(r"[^a-z0-9]+", source.lower()))
    if words & _COURT_WORDS:
        return COURT
    if words & {"news", "gnews", "wire", "ap", "reuters", "rss"}:
        return NEWS
    if words & _AGENCY_WORDS:
        return AGENCY
    host = re.sub(r"^[a-z]+://", "", url.lower()).split("/", 1)[0]
    if host.endswith(("uscourts.gov", "supremecourt.gov", "courtlistener.com")):
        return COURT
    if host.endswith(".gov") or host.endswith(".gov.") or ".state." in host or host.endswith("federalregister.gov"):
        return AGENCY
    return NEWS


@dataclass(frozen=True)
class StoryInput:
    """One relevant item as clustering sees it.

    `published` is the item's own date; `seen` (when the daemon fetched it) is the
    fallback for undated items and sets the story's first-seen and updated times.
    """

    item_id: str
    source: str
    title: str
    summary: str
    url: str
    published: datetime | None
    verdict: Verdict
    seen: datetime | None = None


@dataclass(frozen=True)
class ClusterConfig:
    window: timedelta = timedelta(days=4)  # how far apart in time an item and a story may be
    max_span: timedelta = timedelta(days=7)  # a story's first and last event times
    max_items: int = 60
    threshold: float = 0.6
    signature_size: int = 80  # tokens kept in a story's text signature


@dataclass(frozen=True)
class StoryState:
    """What a story needs to take new items, reconstructable without its items."""

    id: str
    kind: str
    title: str
    title_rank: int
    title_url: str
    jurisdictions: tuple[Jurisdiction, ...]
    start: datetime  # earliest event time (item published) among its items
    end: datetime  # latest event time
    first_seen: datetime
    updated: datetime
    item_ids: tuple[str, ...]
    sources: tuple[str, ...]
    signature: tuple[tuple[str, float], ...]  # summed token weights of its items, the heaviest kept
    refs: frozenset[str] = frozenset()
    actors: frozenset[str] = frozenset()

    @property
    def item_count(self) -> int:
        return len(self.item_ids)

    @property
    def jurisdiction_keys(self) -> frozenset[str]:
        return frozenset(jurisdiction_key(j) for j in self.jurisdictions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "title_rank": self.title_rank,
            "title_url": self.title_url,
            "jurisdictions": [j.as_dict() for j in self.jurisdictions],
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "first_seen": self.first_seen.isoformat(),
            "updated": self.updated.isoformat(),
            "item_ids": list(self.item_ids),
            "sources": list(self.sources),
            "signature": [[t, w] for t, w in self.signature],
            "refs": sorted(self.refs),
            "actors": sorted(self.actors),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "StoryState":
        return cls(
            id=d["id"],
            kind=d["kind"],
            title=d["title"],
            title_rank=int(d["title_rank"]),
            title_url=d.get("title_url", ""),
            jurisdictions=tuple(Jurisdiction(**j) for j in d.get("jurisdictions", ())),
            start=datetime.fromisoformat(d["start"]),
            end=datetime.fromisoformat(d["end"]),
            first_seen=datetime.fromisoformat(d["first_seen"]),
            updated=datetime.fromisoformat(d["updated"]),
            item_ids=tuple(d["item_ids"]),
            sources=tuple(d.get("sources", ())),
            signature=tuple((t, float(w)) for t, w in d.get("signature", ())),
            refs=frozenset(d.get("refs", ())),
            actors=frozenset(d.get("actors", ())),
        )


@dataclass(frozen=True)
class Assignment:
    """Where an item went. `previous` is the story before this item joined (None if created)."""

    story_id: str
    created: bool
    state: StoryState
    title_changed: bool = False
    duplicate: bool = False  # the item was already in the story: nothing changed
    score: float = 1.0
    previous: StoryState | None = field(default=None, repr=False)

    @property
    def event_type(self) -> str | None:
        """The webhook event this assignment causes: story.created, story.updated or none."""
        if self.duplicate:
            return None
        return "story.created" if self.created else "story.updated"


def story_id_for(item_id: str) -> str:
    return "s-" + hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:12]


def _day(t: datetime) -> int:
    return as_utc(t).toordinal()


class StoryIndex:
    """Recent stories, indexed for incremental assignment. Not thread-safe; one owner."""

    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        self._stories: dict[str, StoryState] = {}
        self._profiles: dict[str, StoryProfile] = {}
        self._order: dict[str, int] = {}  # story id -> sequence number: ties go to the older story
        self._items: dict[str, str] = {}  # item id -> story id
        self._by_day: dict[tuple[str, int], set[str]] = {}
        self._clock: datetime | None = None  # latest event time seen: the date of undated items
        self._sequence = 0

    @classmethod
    def load(cls, states: Iterable[StoryState], config: ClusterConfig | None = None) -> "StoryIndex":
        """An index of persisted stories; pass them oldest first (by first_seen) for stable ties."""
        index = cls(config)
        for state in states:
            index._put(state)
        return index

    def __len__(self) -> int:
        return len(self._stories)

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._stories

    def get(self, story_id: str) -> StoryState | None:
        return self._stories.get(story_id)

    def states(self) -> list[StoryState]:
        return list(self._stories.values())

    def story_of(self, item_id: str) -> str | None:
        return self._items.get(item_id)

    def evict(self, before: datetime) -> list[str]:
        """Forget stories whose latest event is before `before`; returns their ids.

        The daemon calls this with `now - (max_span + window)`: such stories can no
        longer take an item published from then on.
        """
        cutoff = as_utc(before)
        gone = [sid for sid, p in self._profiles.items() if p.end < cutoff]
        for sid in gone:
            self._drop(sid)
        return gone

    def candidates(self, kind: str, when: datetime) -> list[StoryState]:
        """Stories of `kind` whose time span comes within the window of `when`, oldest first."""
        return [self._stories[i] for i in self._candidate_ids(kind, as_utc(when))]

    def assign(self, inp: StoryInput) -> Assignment:
        """Place one relevant item into the best recent story of its kind, or start a story."""
        known = self._items.get(inp.item_id)
        if known is not None:
            state = self._stories[known]
            return Assignment(known, created=False, state=state, duplicate=True, previous=state)
        when = inp.published or inp.seen or self._clock or datetime(1970, 1, 1, tzinfo=timezone.utc)
        item = ItemEvidence.of(inp.title, inp.summary, inp.verdict, when)
        best, best_score = None, self.config.threshold
        for sid in self._candidate_ids(item.kind, item.when):
            profile = self._profiles[sid]
            if not self._fits(sid, profile, item.when):
                continue
            s = score(item, profile)
            if s > best_score or (best is None and s == best_score):
                best, best_score = sid, s
        if best is None:
            state = self._new_state(inp, item)
            self._put(state)
            return Assignment(state.id, created=True, state=state, score=0.0)
        previous = self._stories[best]
        state = self._merge(previous, inp, item)
        self._drop(best)
        self._put(state, self._order_of(best))
        return Assignment(state.id, created=False, state=state, title_changed=state.title != previous.title,
                          score=best_score, previous=previous)

    # -- internals ---------------------------------------------------------------------------------

    def _order_of(self, sid: str) -> int:
        return self._order.get(sid, self._sequence)

    def _candidate_ids(self, kind: str, when: datetime) -> list[str]:
        day, reach = _day(when), self.config.window.days + 1
        ids: set[str] = set()
        for d in range(day - reach, day + reach + 1):
            ids.update(self._by_day.get((kind, d), ()))
        return sorted(ids, key=self._order.__getitem__)

    def _fits(self, sid: str, profile: StoryProfile, when: datetime) -> bool:
        cfg = self.config
        if len(self._stories[sid].item_ids) >= cfg.max_items:
            return False
        if max(profile.end, when) - min(profile.start, when) > cfg.max_span:
            return False
        return time_gap(when, profile.start, profile.end) <= cfg.window

    def _put(self, state: StoryState, order: int | None = None) -> None:
        profile = StoryProfile.of(state)
        self._stories[state.id] = state
        self._profiles[state.id] = profile
        if order is None:
            order, self._sequence = self._sequence, self._sequence + 1
        self._order[state.id] = order
        for item_id in state.item_ids:
            self._items[item_id] = state.id
        for d in range(_day(profile.start), _day(profile.end) + 1):
            self._by_day.setdefault((state.kind, d), set()).add(state.id)
        if self._clock is None or profile.end > self._clock:
            self._clock = profile.end

    def _drop(self, story_id: str) -> None:
        state = self._stories.pop(story_id)
        profile = self._profiles.pop(story_id)
        self._order.pop(story_id, None)
        for item_id in state.item_ids:
            self._items.pop(item_id, None)
        for d in range(_day(profile.start), _day(profile.end) + 1):
            bucket = self._by_day.get((state.kind, d))
            if bucket is not None:
                bucket.discard(story_id)
                if not bucket:
                    del self._by_day[(state.kind, d)]

    def _new_state(self, inp: StoryInput, item: ItemEvidence) -> StoryState:
        seen = as_utc(inp.seen) if inp.seen else item.when
        return StoryState(
            id=story_id_for(inp.item_id),
            kind=item.kind,
            title=inp.title,
            title_rank=source_rank(inp.source, inp.url),
            title_url=inp.url,
            jurisdictions=tuple(dict.fromkeys(inp.verdict.jurisdictions)),
            start=item.when,
            end=item.when,
            first_seen=seen,
            updated=seen,
            item_ids=(inp.item_id,),
            sources=(inp.source,),
            signature=merged_signature((), item.vector, self.config.signature_size),
            refs=item.refs,
            actors=frozenset(inp.verdict.actors),
        )

    def _merge(self, story: StoryState, inp: StoryInput, item: ItemEvidence) -> StoryState:
        jurisdictions = {jurisdiction_key(j): j for j in story.jurisdictions}
        for j in inp.verdict.jurisdictions:
            jurisdictions.setdefault(jurisdiction_key(j), j)
        rank = source_rank(inp.source, inp.url)
        seen = as_utc(inp.seen) if inp.seen else item.when
        retitle = rank < story.title_rank
        return replace(
            story,
            title=inp.title if retitle else story.title,
            title_rank=rank if retitle else story.title_rank,
            title_url=inp.url if retitle else story.title_url,
            jurisdictions=tuple(jurisdictions.values()),
            start=min(as_utc(story.start), item.when),
            end=max(as_utc(story.end), item.when),
            first_seen=min(as_utc(story.first_seen), seen),
            updated=max(as_utc(story.updated), seen),
            item_ids=story.item_ids + (inp.item_id,),
            sources=tuple(dict.fromkeys(story.sources + (inp.source,))),
            signature=merged_signature(story.signature, item.vector, self.config.signature_size),
            refs=story.refs | item.refs,
            actors=story.actors | frozenset(inp.verdict.actors),
        )


# -- one file of records: `watcher classify --stories` ------------------------------------------------

_TAG = re.compile(r"<[^>]*>")


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")))
    except ValueError:
        return None


def record_input(record: Mapping[str, Any], verdict: Verdict) -> StoryInput:
    """A `watcher classify` input record and its verdict as a StoryInput."""
    summary = record.get("summary") or ""
    if not summary and record.get("body"):
        summary = " ".join(html.unescape(_TAG.sub(" ", str(record["body"]))).split())[:1500]
    return StoryInput(
        item_id=str(record["id"]),
        source=str(record.get("source") or ""),
        title=str(record.get("title") or ""),
        summary=str(summary),
        url=str(record.get("url") or ""),
        published=_parse_time(record.get("published")),
        verdict=verdict,
    )


def cluster_records(records: list[Mapping[str, Any]], classify_fn: Any, config: ClusterConfig | None = None,
                    verdicts: list[Verdict] | None = None) -> list[str | None]:
    """A story id per record, in input order; None for records judged not relevant.

    `classify_fn(record) -> Verdict` is called once per record unless `verdicts` are
    given. Records are placed in order of publication (stable for equal or missing
    dates), as the daemon would have met them, so the result does not depend on how
    the file happens to be sorted.
    """
    if verdicts is None:
        verdicts = [classify_fn(r) for r in records]
    inputs = [record_input(r, v) for r, v in zip(records, verdicts)]
    never = datetime.max.replace(tzinfo=timezone.utc)
    order = sorted(range(len(inputs)), key=lambda i: (inputs[i].published or never, i))
    index = StoryIndex(config)
    out: list[str | None] = [None] * len(records)
    for i in order:
        if inputs[i].verdict.relevant:
            out[i] = index.assign(inputs[i]).story_id
    return out
