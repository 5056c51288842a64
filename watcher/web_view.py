"""What the dashboard and the story page show, built from stories and source states. Pure.

Outside text is flattened to one line and clipped here (`digest.one_line`), links
are kept only if they are http(s) (`digest.safe_url`); escaping for HTML is the
templates' (autoescape). A source's last error is operator information, shown
shortened, with every configured secret value blanked out of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from watcher.deliver.digest import one_line, safe_url
from watcher.deliver.webhooks import KIND_LABELS
from watcher.domain import KINDS, SourceState, Story
from watcher.feeds import StoryQuery, places, story_url

ERROR_CHARS = 160
REDACTED = "[redacted]"


def when(ts: float | datetime | None) -> str:
    """'2025-06-02 14:05 UTC', or '' for never."""
    if ts is None:
        return ""
    dt = ts if isinstance(ts, datetime) else datetime.fromtimestamp(ts, tz=UTC)
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def redact(text: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        if len(s) >= 4:
            text = text.replace(s, REDACTED)
    return text


@dataclass(frozen=True)
class StoryRow:
    id: str
    link: str  # the story's page, relative to the site
    title: str
    kind: str
    label: str
    places: tuple[str, ...]
    sources: int  # how many reports
    why: str  # the first reason
    updated: str


@dataclass(frozen=True)
class SourceRow:
    name: str
    kind: str
    url: str  # http(s) or ''
    last_poll: str
    last_success: str
    status: str  # ok | not modified | failed | never polled
    failures: int  # in a row
    flagged: bool
    error: str


@dataclass(frozen=True)
class Report:
    source: str
    title: str
    url: str
    published: str
    summary: str


@dataclass(frozen=True)
class StoryView:
    id: str
    title: str
    kind: str
    label: str
    score: str
    places: tuple[str, ...]
    reasons: tuple[str, ...]
    first_seen: str
    updated: str
    reports: tuple[Report, ...]


@dataclass(frozen=True)
class Dashboard:
    stories: tuple[StoryRow, ...]
    sources: tuple[SourceRow, ...]
    kinds: tuple[tuple[str, str], ...]  # (kind, label) for the filter's select
    kind: str  # the kind chosen, or ''
    jurisdiction: str
    all: bool
    feed_query: str  # the filter as a query string, for the feed links ('' or '?...')
    failing: int  # sources failing now


def story_row(s: Story) -> StoryRow:
    return StoryRow(
        id=s.id,
        link=story_url("", s.id),
        title=one_line(s.title) or "(untitled)",
        kind=s.kind,
        label=KIND_LABELS.get(s.kind, s.kind),
        places=tuple(places(s)),
        sources=len(s.items),
        why=one_line(s.reasons[0], 200) if s.reasons else "",
        updated=when(s.updated),
    )


_STATUS = {"ok": "ok", "not_modified": "not modified", "failed": "failed", None: "never polled"}


def source_row(s: SourceState, secrets: Sequence[str] = ()) -> SourceRow:
    return SourceRow(
        name=s.name,
        kind=s.kind,
        url=redact(safe_url(s.url), secrets),
        last_poll=when(s.last_poll_at),
        last_success=when(s.last_success_at),
        status=_STATUS.get(s.last_status, one_line(s.last_status or "", 20)),
        failures=s.consecutive_failures,
        flagged=s.flagged,
        error=one_line(redact(s.last_error or "", secrets), ERROR_CHARS) if s.last_status == "failed" else "",
    )


def dashboard(stories: Sequence[Story], sources: Sequence[SourceState], q: StoryQuery,
              secrets: Sequence[str] = ()) -> Dashboard:
    rows = tuple(source_row(s, secrets) for s in sources)
    params = q.params()
    return Dashboard(
        stories=tuple(story_row(s) for s in stories),
        sources=rows,
        kinds=tuple((k, KIND_LABELS.get(k, k)) for k in KINDS),
        kind=q.kinds[0] if len(q.kinds) == 1 else "",
        jurisdiction=q.jurisdictions[0] if q.jurisdictions else "",
        all=q.all,
        feed_query=("?" + urlencode(params)) if params else "",
        failing=sum(1 for r in rows if r.status == "failed"),
    )


def story_view(s: Story) -> StoryView:
    return StoryView(
        id=s.id,
        title=one_line(s.title) or "(untitled)",
        kind=s.kind,
        label=KIND_LABELS.get(s.kind, s.kind),
        score=f"{s.score:.2f}",
        places=tuple(places(s)),
        reasons=tuple(one_line(r, 300) for r in s.reasons),
        first_seen=when(s.first_seen),
        updated=when(s.updated),
        reports=tuple(
            Report(source=one_line(r.source, 60), title=one_line(r.title) or "(untitled)", url=safe_url(r.url),
                   published=when(r.published), summary=one_line(r.summary, 600))
            for r in s.items
        ),
    )
