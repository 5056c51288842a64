"""The SQLite database: one connection, owned by one thread, that every write goes through.

Async callers `await db.run(fn, *args)`; `fn(conn, *args)` runs on the writer
thread. WAL mode, so readers on other connections (the web face) never block
it; `BEGIN IMMEDIATE` for every write transaction; migrations applied on open.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


class Database:
    """The state file under `state/`, with its single writer thread."""

    def __init__(self, state_dir: Path | str, *, filename: str = DB_NAME):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / filename
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._thread_id: int | None = None

    def open(self) -> "Database":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._executor.submit(self._open_on_thread).result()
        return self

    def _open_on_thread(self) -> None:
        self._thread_id = threading.get_ident()
        self._conn = connect(self.path)
        migrate(self._conn)

    def __enter__(self) -> "Database":
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> "Database":
        return await asyncio.to_thread(self.open)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        if self._executor is None:
            return
        self._executor.submit(self._close_on_thread).result()
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close_on_thread(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA optimize")
            self._conn.close()
            self._conn = None

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._conn is not None, "database is closed"
        return fn(self._conn, *args)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(conn, *args)` on the writer thread."""
        if self._executor is None:
            raise RuntimeError("database is closed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn, args)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """The same, for synchronous callers (CLI commands)."""
        if self._executor is None:
            raise RuntimeError("database is closed")
        if threading.get_ident() == self._thread_id:
            return self._call(fn, args)
        return self._executor.submit(self._call, fn, args).result()

    def reader(self) -> sqlite3.Connection:
        """A separate read-only connection (for the web face): never blocks the writer."""
        return connect(self.path, readonly=True)
