"""Places each committed relevant item into a story, inside the poll's own transaction.

The clustering itself is pure (`stories.StoryIndex`); this keeps its in-memory
index in step with the `stories` table: loaded from the recent stories on first
use, updated as items are placed, rebuilt from the table whenever a transaction
it took part in was rolled back.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone

from watcher.sources.base import SourceOptions, publisher_of
from watcher.store import stories as sql
from watcher.store.polls import StoredChange
from watcher.stories import ClusterConfig, StoryIndex, StoryInput, StoryState

log = logging.getLogger("watcher.stories")

def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


# Called inside the poll's transaction for each story event: (conn, event id, event type, story id, now).
# The outbox's `Enqueuer` creates the deliveries the event causes.
AlertHook = Callable[[sqlite3.Connection, int, str, str, float], object]


class StoryDesk:
    def __init__(
        self, sources: Sequence[SourceOptions], config: ClusterConfig | None = None, *, alerts: AlertHook | None = None
    ):
        self.config = config or ClusterConfig()
        self.alerts = alerts
        self.publishers: Mapping[str, str] = {s.name: publisher_of(s) for s in sources}
        self._index: StoryIndex | None = None
        self._evicted_at = 0.0

    @property
    def horizon(self) -> float:
        """How far back (seconds) a story can still take items."""
        return (self.config.max_span + self.config.window).total_seconds()

    def _load(self, conn: sqlite3.Connection, now: float) -> StoryIndex:
        states = [StoryState.from_dict(d) for d in sql.recent_story_states(conn, now - self.horizon)]
        log.info("story index loaded", extra={"stories": len(states)})
        return StoryIndex.load(states, self.config)

    def forget(self) -> None:
        """Drop the in-memory index: the next use rebuilds it from the table."""
        self._index = None

    def __call__(self, conn: sqlite3.Connection, stored: list[StoredChange], now: float) -> tuple[int, int]:
        """Place the relevant items of one poll; returns (stories created, stories updated)
        counting only events that alert people. Runs inside the poll's transaction."""
        if self._index is None:
            self._index = self._load(conn, now)
        if now - self._evicted_at > 3600:
            self._index.evict(_utc(now - self.horizon))
            self._evicted_at = now
        created = updated = 0
        for sc in stored:
            if not sc.verdict.relevant:
                continue
            if sc.change.status == "updated":
                row = conn.execute("SELECT story_id FROM items WHERE id = ?", (sc.item_id,)).fetchone()
                if row is not None and row[0] is not None:
                    continue  # already in a story; a corrected text does not move it
            item = sc.change.item
            assignment = self._index.assign(
                StoryInput(
                    item_id=str(sc.item_id),
                    source=self.publishers.get(item.source, "news"),
                    title=item.title,
                    summary=item.summary,
                    url=item.url,
                    published=item.published,
                    verdict=sc.verdict,
                    seen=_utc(now),
                )
            )
            if assignment.duplicate:
                continue
            event = sql.save_story(
                conn, assignment.state.to_dict(), sc.verdict, sc.item_id, alert=not sc.change.silent, now=now
            )
            if event is None:
                continue
            created += event.type == "story.created"
            updated += event.type == "story.updated"
            if self.alerts is not None:
                self.alerts(conn, event.id, event.type, assignment.story_id, now)
        return created, updated
