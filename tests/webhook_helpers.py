"""Helpers for the webhook tests: configs with receivers, and story events seeded straight into a state file."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import write_config
from tests.hookserver import SECRET
from watcher.app import open_outbox
from watcher.config import Config, load_config
from watcher.deliver.enqueue import Enqueuer
from watcher.store.db import Database, transaction

ENV = {"HOOK_SECRET": SECRET}
FAST = {"retry": ["0.3s", "0.3s", "0.3s"], "jitter": 0, "timeout": "2s"}


def hook(name: str, url: str, **kw: object) -> dict[str, object]:
    return {"name": name, "url": url, "secret_env": "HOOK_SECRET", "allow_private": True, **kw}


def config(tmp: Path, hooks: list[dict[str, object]], sources: list[dict] | None = None,
           webhooks: dict[str, object] | None = None, env: dict[str, str] | None = None) -> Config:
    path = write_config(tmp / "sources.yaml", sources or [], {"webhooks": {**FAST, **(webhooks or {})}}, webhooks=hooks)
    return load_config(path, env or ENV)


def seed_events(cfg: Config, state: Path, n: int, *, start: int = 0) -> list[str]:
    """n story.created events, one story each, with their deliveries, as a poll would commit them."""
    ids: list[str] = []
    with Database(state) as db, transaction(db.conn) as conn:
        counter = itertools.count()
        enqueue = Enqueuer(cfg.webhooks, ids=lambda: f"msg_t{start:04d}_{next(counter):05d}")
        for i in range(start, start + n):
            now = time.time()
            sid = f"s-{i:04d}"
            juris = [{"name": "Denver", "state": "CO", "kind": "city", "fips": "0820000"}]
            conn.execute(
                "INSERT INTO stories (id, kind, title, url, score, jurisdictions, reasons, first_seen, updated, alerted, state)"
                " VALUES (?, 'lawsuit', ?, '', 0.9, ?, '[]', ?, ?, 1, '{}')",
                (sid, f"Story number {i}", json.dumps(juris), now, now),
            )
            cur = conn.execute(
                "INSERT INTO items (source, key, alt_key, url, title, summary, body, published, first_seen, updated_at,"
                " content_hash, silent, relevant, kind, score, story_id)"
                " VALUES ('news', ?, ?, ?, ?, 'A summary.', '', ?, ?, ?, 'h', 0, 1, 'lawsuit', 0.9, ?)",
                (f"k{i}", f"a{i}", f"https://example.org/{i}", f"Story number {i}", now, now, now, sid),
            )
            ev = conn.execute(
                "INSERT INTO story_events (story_id, type, item_id, at) VALUES (?, 'story.created', ?, ?)",
                (sid, cur.lastrowid, now),
            )
            enqueue(conn, int(ev.lastrowid or 0), "story.created", sid, now)
            ids.extend(r[0] for r in conn.execute("SELECT id FROM deliveries WHERE event_id = ? ORDER BY target",
                                                  (ev.lastrowid,)))
    return ids


async def run_outbox(cfg: Config, state: Path, until: Callable[[], bool], timeout: float, **kw: object) -> float:
    """Run the daemon's outbox until `until()` holds (or timeout); returns the seconds it took."""
    stopping = asyncio.Event()
    async with Database(state) as db:
        async with open_outbox(cfg, db, tick=0.2, **kw) as outbox:  # type: ignore[arg-type]
            task = asyncio.create_task(outbox.run(stopping))
            t0 = time.monotonic()
            try:
                while not until() and time.monotonic() - t0 < timeout:
                    await asyncio.sleep(0.02)
                return time.monotonic() - t0
            finally:
                stopping.set()
                done, late = await asyncio.wait({task}, timeout=3)
                for t in late:
                    t.cancel()
                if late:
                    await asyncio.wait(late, timeout=2)


def rows(state: Path, sql: str, *args: object) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(state / "watcher.sqlite3")
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()
