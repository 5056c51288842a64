"""One poll of one source, left to right: fetch, parse, detect, classify, commit.

What a poll learns (source state, items, list members, and later the stories and
deliveries they cause) is committed in one transaction on the writer thread.
A poll that fails anywhere is one failed poll of one source: counted, logged,
backed off; the others carry on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from watcher.config import Config
from watcher.detect import Change, detect, identify
from watcher.domain import Entry, FetchResult, FetchStatus, Item, SourceState, Verdict
from watcher.fetch import Fetcher
from watcher.sources.base import (
    ParseError,
    SourceKind,
    SourceOptions,
    kind_class,
    publisher_of,
)
from watcher.store import polls as sql
from watcher.store.db import Database
from watcher.text import digest

log = logging.getLogger("watcher.poll")


class Classifier(Protocol):
    """`watcher.classify.classify`'s shape: `source` is the publisher type of the item's source
    ("doj", "court", ...), evidence for the kind of action."""

    def __call__(self, title: str, summary: str = "", body: str = "", *, source: str = "") -> Verdict: ...


# Called inside the poll's transaction with what it stored: returns (stories created, stories updated).
StoryHook = Callable[[sqlite3.Connection, list[sql.StoredChange], float], tuple[int, int]]

SUMMARY_KEYS = (
    "sources", "fetched", "not_modified", "failed", "baseline", "new_items",
    "updated_items", "relevant", "stories_new", "stories_updated",
)


@dataclass
class PollSummary:
    """The counts `watcher poll --once` prints (ARCHITECTURE.md section 3)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SUMMARY_KEYS, 0))
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, other: "PollSummary") -> None:
        for k, v in other.counts.items():
            self.counts[k] += v
        self.errors.update(other.errors)


def backoff_delay(failures: int, base: float, cap: float, jitter: float, retry_after: float | None) -> float:
    """Exponential backoff with jitter (jitter in [0, 1) spreads it over 0.5x-1.5x); Retry-After wins if longer."""
    delay = min(cap, base * 2 ** max(0, failures - 1)) * (0.5 + jitter)
    return max(delay, retry_after or 0.0)


def _default_classifier() -> Classifier:
    from watcher.classify import classify

    return classify


class Poller:
    def __init__(
        self,
        config: Config,
        db: Database,
        fetcher: Fetcher,
        *,
        classify: Classifier | None = None,
        story_hook: StoryHook | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        env: dict[str, str] | None = None,
    ):
        self.config = config
        self.db = db
        self.fetcher = fetcher
        self.classify = classify or _default_classifier()
        # the publisher type of each source, evidence for the classifier's kind decision
        self._publishers: dict[str, str] = {s.name: publisher_of(s) for s in config.sources}
        self.story_hook = story_hook
        self.clock = clock
        self.rng = rng
        self._kinds: dict[str, SourceKind] = {
            s.name: kind_class(s.kind)(s, dict(config.secrets)) for s in config.sources
        }
        self._locks: dict[str, asyncio.Lock] = {s.name: asyncio.Lock() for s in config.sources}
        self._states: dict[str, SourceState] = {}  # the store's source rows, kept current by each commit
        self._loaded = asyncio.Lock()

    def _judge(self, source_name: str, item: Item) -> Verdict:
        return self.classify(item.title, item.summary, item.body, source=self._publishers.get(source_name, ""))

    async def states(self) -> dict[str, SourceState]:
        """Every configured source's state; loaded (and created or reset) once, in one transaction."""
        async with self._loaded:
            if not self._states:
                spec = [(s.name, s.kind, s.url) for s in self.config.sources]
                self._states = await self.db.write(sql.sync_sources, spec)
        return self._states

    async def poll_all(self, names: Sequence[str] | None = None) -> PollSummary:
        chosen = [s for s in self.config.sources if s.enabled and (names is None or s.name in names)]
        total = PollSummary()
        for result in await asyncio.gather(*(self.poll(s) for s in chosen)):
            total.add(result)
        return total

    async def poll(self, source: SourceOptions) -> PollSummary:
        """Poll one source; never raises for anything the source did."""
        async with self._locks[source.name]:  # no overlapping runs of one source
            summary = PollSummary()
            summary.counts["sources"] = 1
            try:
                await self._poll(source, summary)
            except Exception as e:  # noqa: BLE001 - isolates one source's poll from the rest
                log.exception("poll failed", extra={"source": source.name})
                await self._failed(source, f"internal error: {type(e).__name__}: {e}", 0.0, None, summary)
            return summary

    async def _poll(self, source: SourceOptions, summary: PollSummary) -> None:
        kind = self._kinds[source.name]
        state = (await self.states())[source.name]
        headers = kind.request_headers()
        if source.user_agent:
            headers["User-Agent"] = source.user_agent
        result = await self.fetcher.get(
            source.url,
            etag=state.etag,
            last_modified=state.last_modified,
            previous_hash=state.body_hash,
            headers=headers,
        )
        if result.status is FetchStatus.FAILED:
            await self._failed(source, result.error or "failed", result.elapsed, result.retry_after, summary)
            return
        if result.status is FetchStatus.NOT_MODIFIED:
            self._states[source.name] = await self.db.write(
                sql.record_success, source.name, result, self.clock(), False
            )
            summary.counts["not_modified"] = 1
            log.debug("not modified", extra={"source": source.name, "latency": round(result.elapsed, 3)})
            return
        try:
            entries = kind.parse(result.body, result.content_type)
        except ParseError as e:
            await self._failed(source, f"parse error: {e}", result.elapsed, None, summary)
            return
        summary.counts["fetched"] = 1
        baseline = not state.baseline_done
        now = self.clock()
        if getattr(kind, "is_set", False):
            members = await self.db.run(sql.list_members, source.name)
            items, added, removed = self._list_items(source, kind, entries, members, now)
        else:
            items, added, removed = identify(source.name, entries, source.identity), [], []
        by_key, by_alt = await self.db.run(
            sql.known_items, source.name, [i.key for i in items], [i.alt_key for i in items]
        )
        changes = detect(
            items,
            by_key,
            by_alt,
            baseline=baseline,
            now=datetime.fromtimestamp(now, tz=timezone.utc),
            max_age=self.config.settings.max_age,
        )
        judged = [(c, self._judge(source.name, c.item)) for c in changes]
        try:
            stories, self._states[source.name] = await self.db.write(
                self._commit, source.name, result, judged, added, removed, now
            )
        except Exception:
            forget = getattr(self.story_hook, "forget", None)
            if forget is not None:
                forget()  # its in-memory index saw changes that were rolled back
            raise
        for c, v in judged:
            if c.silent:
                summary.counts["baseline"] += c.status == "new"
                continue
            summary.counts["new_items" if c.status == "new" else "updated_items"] += 1
            summary.counts["relevant"] += v.relevant
        summary.counts["stories_new"], summary.counts["stories_updated"] = stories
        log.info(
            "polled",
            extra={
                "source": source.name,
                "entries": len(entries),
                "changes": len(changes),
                "baseline": baseline,
                "latency": round(result.elapsed, 3),
            },
        )

    def _list_items(
        self, source: SourceOptions, kind: SourceKind, rows: list[Entry], members: dict[str, str], now: float
    ) -> tuple[list[Item], list[tuple[str, str]], list[str]]:
        """Rows of a set-like page against the stored members -> one item per row added or removed."""
        stamp = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        current = {r.key: r for r in rows}
        added = [(k, e.title) for k, e in current.items() if k not in members]
        removed = [(k, label) for k, label in members.items() if k not in current]
        if rows == [] and members:
            raise ParseError("the list is empty; refusing to treat every row as removed")
        items = []
        for action, key, label in [("added", k, t) for k, t in added] + [("removed", k, t) for k, t in removed]:
            title, summary = kind.describe(action, label)  # type: ignore[attr-defined]
            items.append(
                Item(
                    source=source.name,
                    key=f"{action}:{key}:{stamp}",
                    alt_key=digest(action, key, stamp),
                    url=source.url,
                    title=title,
                    summary=summary,
                    body="",
                    published=datetime.fromtimestamp(now, tz=timezone.utc),
                    content_hash=digest(title, summary),
                )
            )
        return items, added, [k for k, _ in removed]

    def _commit(
        self,
        conn: sqlite3.Connection,
        name: str,
        result: FetchResult,
        judged: list[tuple[Change, Verdict]],
        added: list[tuple[str, str]],
        removed: list[str],
        now: float,
    ) -> tuple[tuple[int, int], SourceState]:
        """Everything one poll learned: runs inside one (group-committed) transaction."""
        stored = sql.save_changes(conn, judged, now)
        sql.save_members(conn, name, added, removed, now)
        state = sql.record_success(conn, name, result, now, True)
        stories = self.story_hook(conn, stored, now) if self.story_hook is not None else (0, 0)
        return stories, state

    async def _failed(
        self, source: SourceOptions, error: str, latency: float, retry_after: float | None, summary: PollSummary
    ) -> None:
        fetch = self.config.settings.fetch
        now = self.clock()

        def backoff(failures: int) -> float:
            return backoff_delay(failures, fetch.backoff_base, fetch.backoff_max, self.rng(), retry_after)

        await self.states()
        state = await self.db.write(sql.record_failure, source.name, error, latency, now, backoff, fetch.flag_after)
        self._states[source.name] = state
        newly_flagged = state.flagged and state.consecutive_failures == fetch.flag_after
        summary.counts["failed"] = 1
        summary.errors[source.name] = error
        log.warning("poll failed", extra={"source": source.name, "error": error})
        if newly_flagged:
            log.error(
                "source keeps failing; flagged for the operator",
                extra={"source": source.name, "failures": fetch.flag_after, "error": error},
            )
