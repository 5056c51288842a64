"""SQL for the web face: recent stories, one story, source health, and the counts behind /metrics.

Read-only: every function here takes the web face's read-only connection
(`Database.reader()`). Nothing here selects a subscriber's address, a webhook's
name or URL, a delivery's target or payload, or a secret: what these functions
return is what may be public.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from watcher.domain import SourceState, Story, StoryRef
from watcher.store.outbox import SUMMARY_CHARS, _clip, _utc
from watcher.store.polls import all_source_states
from watcher.store.stories import story_of_row

T = TypeVar("T")

SCAN_PAGE = 200  # stories read per page while a filter that SQL cannot apply (places) picks them


def _items(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, list[StoryRef]]:
    out: dict[str, list[StoryRef]] = {i: [] for i in ids}
    if not ids:
        return out
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"""SELECT story_id, source, title, url, published, summary FROM items WHERE story_id IN ({marks})
            ORDER BY COALESCE(published, first_seen), id""",
        tuple(ids),
    )
    for r in rows:
        out[r["story_id"]].append(StoryRef(source=r["source"], title=r["title"], url=r["url"],
                                           published=_utc(r["published"]), summary=_clip(r["summary"], SUMMARY_CHARS)))
    return out


def recent_stories(
    conn: sqlite3.Connection,
    *,
    kinds: Sequence[str] = (),
    alerted_only: bool = True,
    keep: Callable[[Story], bool] | None = None,
    limit: int = 50,
) -> list[Story]:
    """The most recently updated stories with their items, newest first.

    `kinds` and `alerted_only` are applied in SQL; `keep` (a place filter) in
    Python, page by page, until `limit` stories are kept.
    """
    where, args = [], []
    if alerted_only:
        where.append("alerted = 1")
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        args += list(kinds)
    sql = ("SELECT id, title, kind, score, jurisdictions, reasons, first_seen, updated FROM stories"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY updated DESC, id LIMIT ? OFFSET ?")
    chosen: list[Story] = []
    offset = 0
    page = limit if keep is None else max(limit, SCAN_PAGE)
    while len(chosen) < limit:
        rows = conn.execute(sql, (*args, page, offset)).fetchall()
        for r in rows:
            s = story_of_row(r)
            if keep is None or keep(s):
                chosen.append(s)
                if len(chosen) == limit:
                    break
        if len(rows) < page:
            break
        offset += page
    items = _items(conn, [s.id for s in chosen])
    return [replace(s, items=tuple(items[s.id])) for s in chosen]


def story(conn: sqlite3.Connection, story_id: str) -> Story | None:
    """One story with all its items, or None."""
    row = conn.execute(
        "SELECT id, title, kind, score, jurisdictions, reasons, first_seen, updated FROM stories WHERE id = ?",
        (story_id,),
    ).fetchone()
    if row is None:
        return None
    return story_of_row(row, tuple(_items(conn, [story_id])[story_id]))


def source_health(conn: sqlite3.Connection) -> list[SourceState]:
    return all_source_states(conn)


@dataclass(frozen=True)
class Counts:
    """What /metrics reports, read in one pass over the store."""

    sources: list[SourceState]
    items: dict[tuple[str, bool], int] = field(default_factory=dict)  # (source, relevant) -> count
    stories: dict[tuple[str, bool], int] = field(default_factory=dict)  # (kind, alerted) -> count
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (channel, status) -> count
    oldest_queued: dict[str, float] = field(default_factory=dict)  # channel -> created_at of its oldest queued
    digests: dict[str, int] = field(default_factory=dict)  # status -> count


def counts(conn: sqlite3.Connection) -> Counts:
    """Per-source poll state, and counts of items, stories, deliveries and digests.

    Deliveries are counted by channel and status only: never by target (an address or a webhook's name)."""
    conn.execute("BEGIN")  # one snapshot for every count
    try:
        c = Counts(sources=all_source_states(conn))
        # Two index-only passes rather than one over the table: totals walk the (source, key)
        # index, relevant counts the partial index of relevant items, which holds few rows.
        totals = dict(conn.execute("SELECT source, COUNT(*) FROM items GROUP BY source").fetchall())
        relevant = dict(
            conn.execute(
                "SELECT source, COUNT(*) FROM items INDEXED BY items_relevant_recent WHERE relevant = 1 GROUP BY source"
            ).fetchall()
        )
        for source, n in totals.items():
            c.items[(source, False)] = n - relevant.get(source, 0)
            if relevant.get(source):
                c.items[(source, True)] = relevant[source]
        for kind, alerted, n in conn.execute("SELECT kind, alerted, COUNT(*) FROM stories GROUP BY kind, alerted"):
            c.stories[(kind, bool(alerted))] = n
        for channel, status, n in conn.execute("SELECT channel, status, COUNT(*) FROM deliveries GROUP BY channel, status"):
            c.deliveries[(channel, status)] = n
        for channel, oldest in conn.execute(
            "SELECT channel, MIN(created_at) FROM deliveries WHERE status IN ('pending', 'failed') GROUP BY channel"
        ):
            c.oldest_queued[channel] = oldest
        for status, n in conn.execute("SELECT status, COUNT(*) FROM digests GROUP BY status"):
            c.digests[status] = n
        return c
    finally:
        conn.execute("COMMIT")


def ping(conn: sqlite3.Connection) -> bool:
    """The database answers: its schema is there and readable."""
    return conn.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] > 0


class Reader:
    """The web face's read-only connections: one per worker thread, made by `connect` (`Database.reader`).

    `await reader.run(fn, *args)` runs `fn(conn, *args)` in the default executor,
    so a slow page never holds up the event loop and the pollers on it."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]):
        self._connect = connect
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._all.append(conn)
        return conn

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(self._conn(), *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self.run_sync, fn, *args)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for c in conns:
            c.close()
