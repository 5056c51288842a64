"""The SQLite database: one write connection, owned by the event loop's thread.

Reads are `await db.run(fn, *args)`: `fn(conn, *args)`, run at once. Writes are
`await db.write(fn, *args)`: queued, and everything queued in one turn of the
loop runs in one transaction (group commit), each operation in its own
savepoint, so one operation's failure undoes only that operation; every caller
is answered only after the COMMIT. One poll's results are one operation:
atomic, and durable before anything leaves the machine. WAL mode, so readers on
other connections (the web face, CLI commands) never block the writer;
migrations applied on open.

Why the loop's own thread and not a writer thread (Datasette's shape): SQLite's
work here is microseconds an operation, and measured on 2,000 sources
(bench/bench_poll.py) a writer thread cost ~1 ms a poll in GIL hand-offs: every
socket call on the loop waited behind the writer's Python code. One owner, one
writer, serialised all the same; long jobs (reclassify) work in pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from watcher.store.migrations import migrate

T = TypeVar("T")

DB_NAME = "watcher.sqlite3"


def connect(path: Path | str, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    if not readonly:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


Op = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]


class Database:
    """The state file under `state/`, with its one write connection."""

    def __init__(self, state_dir: Path | str, *, filename: str = DB_NAME):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / filename
        self._conn: sqlite3.Connection | None = None
        self._queued: list[Op] = []
        self._drain_scheduled = False

    def open(self) -> "Database":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path)
        migrate(self._conn)
        return self

    def __enter__(self) -> "Database":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Database":
        return self.open()

    async def __aexit__(self, *exc: object) -> None:
        self._drain()  # anything still queued is committed before closing
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("database is closed")
        return self._conn

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` now (reads, or writes that manage their own transaction)."""
        return fn(self.conn, *args)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """The same, for synchronous callers (CLI commands)."""
        return fn(self.conn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` inside a group-committed transaction.

        `fn` must not BEGIN or COMMIT itself; its changes are durable when this returns.
        """
        if self._conn is None:
            raise RuntimeError("database is closed")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queued.append((fn, args, fut))
        if not self._drain_scheduled:
            self._drain_scheduled = True
            loop.call_soon(self._drain)
        return await fut

    def _drain(self) -> None:
        self._drain_scheduled = False
        batch, self._queued = self._queued, []
        if batch:
            self._commit_group(batch)

    def _commit_group(self, batch: list[Op]) -> None:
        conn = self.conn
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, args, fut in batch:
                conn.execute("SAVEPOINT op")
                try:
                    result = fn(conn, *args)
                except Exception as e:  # noqa: BLE001 - one operation's failure is its caller's, not the group's
                    conn.execute("ROLLBACK TO op")
                    conn.execute("RELEASE op")
                    outcomes.append((fut, None, e))
                else:
                    conn.execute("RELEASE op")
                    outcomes.append((fut, result, None))
            conn.execute("COMMIT")
        except Exception as e:  # noqa: BLE001 - the commit itself failed: nobody's work is durable
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            outcomes = [(fut, None, e) for _, _, fut in batch]
        _settle(outcomes)

    def reader(self) -> sqlite3.Connection:
        """A separate read-only connection (for the web face): never blocks the writer."""
        return connect(self.path, readonly=True)


def _settle(outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, result, error in outcomes:
        if fut.done():
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(result)
