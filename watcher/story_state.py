"""The values of story clustering: an item going in, a story's state, where an item went.

`StoryState` is what the store persists for each story: everything `StoryIndex`
needs to take new items, without the items themselves, as a plain dict
(`to_dict`/`from_dict`). `source_rank` orders sources for a story's title.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watcher.domain import Jurisdiction, Verdict

COURT, AGENCY, NEWS = 0, 1, 2  # title authority: lower wins

_COURT_WORDS = frozenset(
    {"court", "courts", "courtlistener", "uscourts", "supremecourt", "pacer", "scotus", "opinion", "opinions", "docket"}
)
_AGENCY_WORDS = frozenset(
    """
    doj justice ice dhs cbp uscis whitehouse wh federalregister fr federal register state gov governor ag attorney
    mayor city county agency official press dot hhs
    """.split()  # noqa: SIM905
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
    if host.endswith((".gov", ".gov.")) or ".state." in host:
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
    window: timedelta = timedelta(days=3)  # how far apart in time an item and a story may be
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
        return frozenset(_jurisdiction_key(j) for j in self.jurisdictions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "item_count": self.item_count,
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
    def from_dict(cls, d: Mapping[str, Any]) -> StoryState:
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


def _jurisdiction_key(j: Jurisdiction) -> str:
    return j.fips or f"{j.state}:{j.name.lower()}"
