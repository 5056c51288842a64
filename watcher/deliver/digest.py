"""What one digest says: stories grouped by kind, most important first, and a subject. Pure.

The view built here is what the templates see. Every piece of outside text in it
is flattened to one line (control characters, CR and LF become spaces) and
clipped, and every link is kept only if it is http or https; escaping for HTML
is the template engine's (autoescape), so a title like `<script>` or one with a
CRLF in it is shown as the text it is and changes nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from watcher.config import Filter
from watcher.deliver.filters import explain
from watcher.deliver.webhooks import KIND_LABELS, place_label
from watcher.domain import KINDS, Story
from watcher.text import safe_url

SUBJECT_CHARS = 120
TITLE_CHARS = 300
SUMMARY_CHARS = 400
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")


def one_line(text: str, limit: int = TITLE_CHARS) -> str:
    """Outside text as one clean line: no control characters, no line breaks, no bidi overrides."""
    flat = " ".join(_CONTROL.sub(" ", text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    url: str  # http(s), or '' when there is no safe link
    published: str  # "Jun 2, 2025" or ''


@dataclass(frozen=True)
class Entry:
    id: str
    title: str
    kind: str
    label: str
    update: bool  # this subscriber was already sent this story
    score: float
    places: tuple[str, ...]
    why: tuple[str, ...]  # the classifier's evidence, then which parts of the filter it met
    link: str
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class Section:
    kind: str
    label: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class DigestView:
    subject: str
    sections: tuple[Section, ...]
    count: int
    new: int
    updates: int
    date: str  # the day the digest was made, in the subscriber's zone


def _day(dt: datetime | None) -> str:
    return f"{dt:%b} {dt.day}, {dt.year}" if dt is not None else ""


def entry(story: Story, update: bool, f: Filter) -> Entry:
    sources = tuple(
        Source(one_line(r.source, 60), one_line(r.title) or "(untitled)", safe_url(r.url),
               _day(r.published.astimezone(UTC) if r.published else None))
        for r in story.items
    )
    link = next((s.url for s in sources if s.url), "")
    why = tuple(one_line(r) for r in story.reasons) + tuple(explain(f, story))
    return Entry(
        id=story.id,
        title=one_line(story.title) or "(untitled)",
        kind=story.kind,
        label=KIND_LABELS.get(story.kind, one_line(story.kind, 40)),
        update=update,
        score=story.score,
        places=tuple(one_line(place_label(j.name, j.state, j.kind), 80) for j in story.jurisdictions),
        why=why,
        link=link,
        sources=sources,
    )


def subject_for(sections: Sequence[Section], count: int) -> str:
    if not sections:
        return "Sanctuary Watch: nothing new"
    lead = sections[0].entries[0]
    text = f"{'Update' if lead.update else lead.label}: {lead.title}"
    more = f" + {count - 1} more" if count > 1 else ""
    return one_line(text, SUBJECT_CHARS - len(more)) + more


def build(stories: Sequence[tuple[Story, bool]], f: Filter, made: datetime) -> DigestView:
    """The digest of `stories` (each with whether it is an update for this subscriber)."""
    entries = [entry(s, update, f) for s, update in stories]
    entries.sort(key=lambda e: (e.update, -e.score, e.title))
    by_kind: dict[str, list[Entry]] = {}
    for e in entries:
        by_kind.setdefault(e.kind, []).append(e)
    rank = {k: i for i, k in enumerate(KINDS)}
    groups = sorted(by_kind.items(), key=lambda kv: (kv[1][0].update, -kv[1][0].score, rank.get(kv[0], 99)))
    sections = tuple(Section(k, KIND_LABELS.get(k, k), tuple(es)) for k, es in groups)
    updates = sum(e.update for e in entries)
    return DigestView(
        subject=subject_for(sections, len(entries)),
        sections=sections,
        count=len(entries),
        new=len(entries) - updates,
        updates=updates,
        date=_day(made),
    )
