"""Stories: reports of the same real-world event, grouped as items arrive.

Each relevant item is placed, once, into the best-matching recent story or
starts a new one; nothing already placed is ever re-clustered. Candidates are
stories of the item's kind whose time span comes within `window` of the item's
date; each is scored on time, jurisdictions, text and references
(`story_match.score`) and the best one at or above `threshold` takes the item.
Failing that, a same-day story of another kind takes it only when the item
plainly rewrites that story's report (`story_match.cross_kind_match`: the
classifier can read two rewrites differently), never when either is a lawsuit
or a ruling.

Guard rails: a story never spans more than `max_span` or holds more than
`max_items` items, and its kind is fixed by its first item (a threatened suit
that is then filed is a new story). Story ids derive from the first item's id,
so the same items in the same order give the same stories, in the daemon and
in `watcher classify --stories` alike.

Candidate retrieval goes through inverted indexes keyed by (kind, day) and by
(jurisdiction, day), so `assign` costs O(stories of that kind, or of those
places, within the window), not O(all stories).
A `StoryState` carries everything needed to take new items (no items), and
round-trips through a plain dict for the store.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from watcher.domain import Verdict
from watcher.story_match import (
    DISTINCT_KINDS,
    ItemEvidence,
    StoryProfile,
    as_utc,
    cross_kind_match,
    jurisdiction_key,
    merged_signature,
    score,
    time_gap,
)
from watcher.story_state import (  # noqa: F401  (re-exported: the public API of clustering)
    AGENCY,
    COURT,
    NEWS,
    Assignment,
    ClusterConfig,
    StoryInput,
    StoryState,
    source_rank,
    story_id_for,
)


def _day(t: datetime) -> int:
    return as_utc(t).toordinal()


def _discard(postings: dict[tuple[str, int], set[str]], key: tuple[str, int], story_id: str) -> None:
    bucket = postings.get(key)
    if bucket is not None:
        bucket.discard(story_id)
        if not bucket:
            del postings[key]


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
        self._by_place: dict[tuple[str, int], set[str]] = {}  # (jurisdiction key or "" if none, day)

    @classmethod
    def load(cls, states: Iterable[StoryState], config: ClusterConfig | None = None) -> StoryIndex:
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
        when = inp.published or inp.seen or self._clock or datetime(1970, 1, 1, tzinfo=UTC)
        item = ItemEvidence.of(inp.title, inp.summary, inp.verdict, when)
        best, best_score = None, self.config.threshold
        cfg, when = self.config, item.when
        for sid in self._candidate_ids(item.kind, when):
            p = self._profiles[sid]
            gap = time_gap(when, p.start, p.end)
            if gap > cfg.window or p.size >= cfg.max_items or max(p.end, when) - min(p.start, when) > cfg.max_span:
                continue
            s = score(item, p, gap)
            if s > best_score or (best is None and s == best_score):
                best, best_score = sid, s
        if best is None:
            best = self._rewrite_of_another_kind(item)
        if best is None:
            state = self._new_state(inp, item)
            self._put(state)
            return Assignment(state.id, created=True, state=state, score=0.0)
        previous = self._stories[best]
        state = self._merge(previous, inp, item)
        self._drop(best)
        self._put(state, self._order_of(best))
        return Assignment(
            state.id,
            created=False,
            state=state,
            title_changed=state.title != previous.title,
            score=best_score,
            previous=previous,
        )

    # -- internals ---------------------------------------------------------------------------------

    def _order_of(self, sid: str) -> int:
        return self._order.get(sid, self._sequence)

    def _candidate_ids(self, kind: str, when: datetime) -> list[str]:
        day, reach = _day(when), -(-self.config.window // timedelta(days=1))
        ids: set[str] = set()
        for d in range(day - reach, day + reach + 1):
            ids.update(self._by_day.get((kind, d), ()))
        return sorted(ids, key=self._order.__getitem__)

    def _rewrite_of_another_kind(self, item: ItemEvidence) -> str | None:
        """A same-day story of another kind that the item plainly rewrites (see `cross_kind_match`)."""
        if item.kind in DISTINCT_KINDS:
            return None
        day, ids = _day(item.when), set()
        for place in item.keys or ("",):
            for d in (day - 1, day, day + 1):
                ids.update(self._by_place.get((place, d), ()))
        best, best_text = None, 0.0
        for sid in sorted(ids, key=self._order.__getitem__):
            p = self._profiles[sid]
            span = max(p.end, item.when) - min(p.start, item.when)
            if p.kind == item.kind or p.size >= self.config.max_items or span > self.config.max_span:
                continue
            text = cross_kind_match(item, p, time_gap(item.when, p.start, p.end))
            if text is not None and text > best_text:
                best, best_text = sid, text
        return best

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
            for place in profile.keys or ("",):
                self._by_place.setdefault((place, d), set()).add(state.id)
        if self._clock is None or profile.end > self._clock:
            self._clock = profile.end

    def _drop(self, story_id: str) -> None:
        state = self._stories.pop(story_id)
        profile = self._profiles.pop(story_id)
        self._order.pop(story_id, None)
        for item_id in state.item_ids:
            self._items.pop(item_id, None)
        for d in range(_day(profile.start), _day(profile.end) + 1):
            _discard(self._by_day, (state.kind, d), story_id)
            for place in profile.keys or ("",):
                _discard(self._by_place, (place, d), story_id)

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
        return as_utc(datetime.fromisoformat(str(value).strip()))
    except ValueError:
        return None


def _plain(text: Any) -> str:
    """Text with HTML tags and entities removed and whitespace collapsed."""
    return " ".join(html.unescape(_TAG.sub(" ", str(text or ""))).split())


def record_input(record: Mapping[str, Any], verdict: Verdict) -> StoryInput:
    """A `watcher classify` input record and its verdict as a StoryInput."""
    summary = _plain(record.get("summary")) or _plain(record.get("body"))[:1500]
    return StoryInput(
        item_id=str(record["id"]),
        source=str(record.get("source") or ""),
        title=_plain(record.get("title")),
        summary=summary,
        url=str(record.get("url") or ""),
        published=_parse_time(record.get("published")),
        verdict=verdict,
    )


def cluster_records(
    records: Sequence[Mapping[str, Any]],
    classify_fn: Callable[[str, str, str], Verdict] | None = None,
    config: ClusterConfig | None = None,
    verdicts: Sequence[Verdict] | None = None,
) -> list[str | None]:
    """A story id per record, in input order; None for records judged not relevant.

    Records are `watcher classify` input lines ({"id", "title", "summary"?, "body"?,
    "url"?, "source"?, "published"?}). Their verdicts are `verdicts` when given (one
    per record: pass them when the caller has classified already), else
    `classify_fn(title, summary, body)` with tags stripped, the signature of
    `watcher.classify.classify`. Records are placed in order of publication (stable
    for equal or missing dates), as the daemon would have met them, so the result
    does not depend on how the file happens to be sorted.
    """
    if verdicts is None:
        if classify_fn is None:
            raise ValueError("cluster_records needs classify_fn or verdicts")
        verdicts = [
            classify_fn(_plain(r.get("title")), _plain(r.get("summary")), _plain(r.get("body"))) for r in records
        ]
    if len(verdicts) != len(records):
        raise ValueError("one verdict per record")
    inputs = [record_input(r, v) for r, v in zip(records, verdicts, strict=True)]
    never = datetime.max.replace(tzinfo=UTC)
    order = sorted(range(len(inputs)), key=lambda i: (inputs[i].published or never, i))
    index = StoryIndex(config)
    out: list[str | None] = [None] * len(records)
    for i in order:
        if inputs[i].verdict.relevant:
            out[i] = index.assign(inputs[i]).story_id
    return out
