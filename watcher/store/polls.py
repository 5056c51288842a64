"""SQL for source state, items and list members: what one poll reads and writes."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields

from watcher.detect import Change, Known
from watcher.domain import FetchResult, Item, SourceState, Verdict

_STATE_COLUMNS = [f.name for f in fields(SourceState)]
MAX_BODY_CHARS = 200_000


def _state(row: sqlite3.Row) -> SourceState:
    d = {k: row[k] for k in _STATE_COLUMNS}
    d["baseline_done"] = bool(d["baseline_done"])
    d["flagged"] = bool(d["flagged"])
    return SourceState(**d)


def source_state(conn: sqlite3.Connection, name: str, kind: str, url: str) -> SourceState:
    """The source's state, created on first sight. A changed URL starts afresh,
    with a silent baseline, so that pointing a source elsewhere never floods."""
    row = conn.execute("SELECT * FROM sources WHERE name = ?", (name,)).fetchone()
    if row is None:
        conn.execute("INSERT INTO sources (name, kind, url) VALUES (?, ?, ?)", (name, kind, url))
        return SourceState(name=name, kind=kind, url=url)
    if row["url"] != url or row["kind"] != kind:
        conn.execute(
            """UPDATE sources SET kind = ?, url = ?, baseline_done = 0, etag = NULL, last_modified = NULL,
               body_hash = NULL, consecutive_failures = 0, next_attempt_at = NULL, flagged = 0 WHERE name = ?""",
            (kind, url, name),
        )
        row = conn.execute("SELECT * FROM sources WHERE name = ?", (name,)).fetchone()
    return _state(row)


def all_source_states(conn: sqlite3.Connection) -> list[SourceState]:
    return [_state(r) for r in conn.execute("SELECT * FROM sources ORDER BY name")]


def sync_sources(conn: sqlite3.Connection, sources: Sequence[tuple[str, str, str]]) -> dict[str, SourceState]:
    """The state of every configured (name, kind, url), created or reset as needed."""
    return {name: source_state(conn, name, kind, url) for name, kind, url in sources}


def _reload(conn: sqlite3.Connection, name: str) -> SourceState:
    return _state(conn.execute("SELECT * FROM sources WHERE name = ?", (name,)).fetchone())


def _chunks(values: Sequence[str], size: int = 400) -> Iterable[Sequence[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def known_items(
    conn: sqlite3.Connection, source: str, keys: Sequence[str], alt_keys: Sequence[str]
) -> tuple[dict[str, Known], dict[str, Known]]:
    by_key: dict[str, Known] = {}
    by_alt: dict[str, Known] = {}
    sql = "SELECT id, key, alt_key, content_hash, silent FROM items WHERE source = ? AND {col} IN ({marks})"
    for col, values, target in (("key", keys, by_key), ("alt_key", alt_keys, by_alt)):
        for chunk in _chunks(list(values)):
            q = sql.format(col=col, marks=",".join("?" * len(chunk)))
            for r in conn.execute(q, (source, *chunk)):
                k = Known(r["id"], r["key"], r["alt_key"], r["content_hash"], bool(r["silent"]))
                target[k.key if col == "key" else k.alt_key] = k
    return by_key, by_alt


def list_members(conn: sqlite3.Connection, source: str) -> dict[str, str]:
    return {r["key"]: r["label"] for r in conn.execute("SELECT key, label FROM list_members WHERE source = ?", (source,))}


@dataclass(frozen=True)
class StoredChange:
    """A change as committed: the item's row id and its verdict."""

    item_id: int
    change: Change
    verdict: Verdict


def _ts(item: Item) -> float | None:
    return item.published.timestamp() if item.published else None


@functools.lru_cache(maxsize=4096)
def verdict_json(verdict: Verdict) -> str:
    return json.dumps(verdict.as_dict(), separators=(",", ":"))


_INSERT = """INSERT INTO items (source, key, alt_key, url, title, summary, body, published, content_hash,
             first_seen, updated_at, silent, relevant, kind, score, verdict)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"""


def save_changes(conn: sqlite3.Connection, changes: Sequence[tuple[Change, Verdict]], now: float) -> list[StoredChange]:
    """Insert new items and update changed ones. Call inside a transaction.

    Returns the relevant changes with their row ids (what stories need); the
    others are inserted in bulk.
    """
    stored: list[StoredChange] = []
    bulk: list[tuple[object, ...]] = []
    for change, verdict in changes:
        it = change.item
        values = (it.url, it.title, it.summary, it.body[:MAX_BODY_CHARS], _ts(it), it.content_hash)
        judged = (int(verdict.relevant), verdict.kind, verdict.score, verdict_json(verdict))
        if change.status == "new":
            row = (it.source, it.key, it.alt_key, *values, now, now, int(change.silent), *judged)
            if not verdict.relevant:
                bulk.append(row)
                continue
            item_id = int(conn.execute(_INSERT, row).lastrowid or 0)
        else:
            item_id = int(change.known_id or 0)
            conn.execute(
                """UPDATE items SET url = ?, title = ?, summary = ?, body = ?, published = ?, content_hash = ?,
                   updated_at = ?, revision = revision + 1, relevant = ?, kind = ?, score = ?, verdict = ?
                   WHERE id = ?""",
                (*values, now, *judged, item_id),
            )
        if verdict.relevant:
            stored.append(StoredChange(item_id, change, verdict))
    if bulk:
        conn.executemany(_INSERT, bulk)
    return stored


def save_members(
    conn: sqlite3.Connection, source: str, added: Iterable[tuple[str, str]], removed: Iterable[str], now: float
) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO list_members (source, key, label, since) VALUES (?, ?, ?, ?)",
        [(source, key, label, now) for key, label in added],
    )
    conn.executemany("DELETE FROM list_members WHERE source = ? AND key = ?", [(source, key) for key in removed])


def record_success(conn: sqlite3.Connection, source: str, result: FetchResult, now: float, parsed: bool) -> SourceState:
    """A poll that worked: a new body (parsed) or nothing new (304, same hash)."""
    conn.execute(
        """UPDATE sources SET
             baseline_done = CASE WHEN ? THEN 1 ELSE baseline_done END,
             etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified),
             body_hash = COALESCE(?, body_hash),
             last_poll_at = ?, last_success_at = ?, last_status = ?, last_error = NULL, last_latency = ?,
             consecutive_failures = 0, next_attempt_at = NULL, flagged = 0,
             polls = polls + 1, not_modified = not_modified + ?
           WHERE name = ?""",
        (
            parsed,
            result.etag,
            result.last_modified,
            result.body_hash,
            now,
            now,
            "ok" if parsed else "not_modified",
            result.elapsed,
            0 if parsed else 1,
            source,
        ),
    )
    return _reload(conn, source)


def record_failure(
    conn: sqlite3.Connection,
    source: str,
    error: str,
    latency: float,
    now: float,
    backoff: Callable[[int], float],
    flag_after: int,
) -> SourceState:
    """A failed poll: counted, backed off (`backoff(failures in a row)` seconds), and
    flagged after `flag_after` in a row."""
    failures = conn.execute("SELECT consecutive_failures FROM sources WHERE name = ?", (source,)).fetchone()[0] + 1
    next_attempt_at = now + backoff(failures)
    conn.execute(
        """UPDATE sources SET last_poll_at = ?, last_status = 'failed', last_error = ?, last_latency = ?,
             consecutive_failures = consecutive_failures + 1, next_attempt_at = ?,
             flagged = CASE WHEN consecutive_failures + 1 >= ? THEN 1 ELSE 0 END,
             polls = polls + 1, failures = failures + 1
           WHERE name = ?""",
        (now, error[:500], latency, next_attempt_at, flag_after, source),
    )
    return _reload(conn, source)


def items_page(conn: sqlite3.Connection, after_id: int, limit: int) -> list[tuple[int, str, str, str, str, str]]:
    """(id, source, title, summary, body, verdict json) of stored items, in id order, after `after_id`."""
    rows = conn.execute(
        "SELECT id, source, title, summary, body, verdict FROM items WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def save_verdicts(conn: sqlite3.Connection, updates: Sequence[tuple[int, Verdict, str]]) -> None:
    from watcher.store.db import transaction

    with transaction(conn):
        conn.executemany(
            "UPDATE items SET relevant = ?, kind = ?, score = ?, verdict = ? WHERE id = ?",
            [(int(v.relevant), v.kind, v.score, j, item_id) for item_id, v, j in updates],
        )
