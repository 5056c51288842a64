"""What is new since last time: identity of entries and the diff against what is stored. Pure.

An item's identity is the source's stable key (guid, DOJ uuid, Federal Register
document number, CourtListener id), or else its canonical URL. Its alternative
key, canonical URL plus normalised title, catches feeds whose guids rotate: an
entry with an unknown key but a known alternative key is the known item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from watcher.domain import Entry, Item
from watcher.text import canonical_url, digest, normalise_title

Identity = Literal["auto", "url", "title"]


def identify(source: str, entries: list[Entry], identity: Identity = "auto") -> list[Item]:
    """Fix each entry's identity. Entries repeating an identity within one fetch are dropped."""
    out: list[Item] = []
    seen: set[str] = set()
    for e in entries:
        url = canonical_url(e.url)
        title_key = normalise_title(e.title)
        if identity == "title":
            key = title_key
        elif identity == "url":
            key = url or title_key
        else:
            key = e.key or url or title_key
        if not key or key in seen:
            continue
        seen.add(key)
        out.append(
            Item(
                source=source,
                key=key[:1000],
                alt_key=digest(url, title_key),
                url=e.url,
                title=e.title,
                summary=e.summary,
                body=e.body,
                published=e.published,
                content_hash=digest(e.title, e.summary, e.body),
            )
        )
    return out


@dataclass(frozen=True)
class Known:
    """What the store holds of an item, enough to diff against."""

    id: int
    key: str
    alt_key: str
    content_hash: str
    silent: bool


@dataclass(frozen=True)
class Change:
    item: Item
    status: Literal["new", "updated"]
    silent: bool  # stored but never alerted: baseline, too old, or an update of a silent item
    known_id: int | None = None


def detect(
    items: list[Item],
    by_key: dict[str, Known],
    by_alt_key: dict[str, Known],
    *,
    baseline: bool,
    now: datetime,
    max_age: float,
) -> list[Change]:
    """New items, and known items whose content changed. Unchanged items drop out."""
    changes: list[Change] = []
    claimed: set[int] = set()
    for item in items:
        known = by_key.get(item.key) or by_alt_key.get(item.alt_key)
        if known is not None:
            if known.id in claimed:
                continue
            claimed.add(known.id)
            if known.content_hash != item.content_hash:
                changes.append(Change(item, "updated", silent=baseline or known.silent, known_id=known.id))
            continue
        too_old = item.published is not None and (now - item.published).total_seconds() > max_age
        changes.append(Change(item, "new", silent=baseline or too_old))
    return changes

