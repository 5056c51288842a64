"""Helpers for the email tests: configs with subscribers, and story events seeded straight into a state file."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

from tests.conftest import write_config
from watcher.config import Config, load_config
from watcher.deliver.enqueue import Enqueuer
from watcher.store.db import Database, transaction

PUBLIC = "https://watch.example.org"


def mail_config(tmp: Path, subscribers: list[dict], sources: list[dict] | None = None,
                smtp: dict | None = None, **settings: object) -> Config:
    s = {"public_url": PUBLIC, **settings}
    if smtp is not None:
        s["smtp"] = smtp
    path = write_config(tmp / "sources.yaml", sources or [], s, subscribers=subscribers)
    return load_config(path, {})


_ids = itertools.count()


def seed(cfg: Config, state: Path, stories: list[dict], *, now: float | None = None) -> list[int]:
    """Story events with their deliveries, as a poll would commit them. Each dict: id, title, and
    optionally kind, type (story.created), jurisdictions, url, summary, score."""
    events = []
    with Database(state) as db, transaction(db.conn) as conn:
        enqueue = Enqueuer(cfg.webhooks, cfg.subscribers, ids=lambda: f"msg_m{next(_ids):08d}")
        for s in stories:
            at = now if now is not None else time.time()
            juris = s.get("jurisdictions", [{"name": "Denver", "state": "CO", "kind": "city", "fips": "0820000"}])
            conn.execute(
                "INSERT INTO stories (id, kind, title, url, score, jurisdictions, reasons, first_seen, updated, alerted, state)"
                " VALUES (?, ?, ?, '', ?, ?, ?, ?, ?, 1, '{}')"
                " ON CONFLICT (id) DO UPDATE SET title = excluded.title, updated = excluded.updated",
                (s["id"], s.get("kind", "lawsuit"), s["title"], s.get("score", 0.9), json.dumps(juris),
                 json.dumps(s.get("reasons", ["reads as a lawsuit"])), at, at),
            )
            n = next(_ids)
            cur = conn.execute(
                "INSERT INTO items (source, key, alt_key, url, title, summary, body, published, first_seen, updated_at,"
                " content_hash, silent, relevant, kind, score, story_id)"
                " VALUES ('news', ?, ?, ?, ?, ?, '', ?, ?, ?, 'h', 0, 1, ?, 0.9, ?)",
                (f"k{n}", f"a{n}", s.get("url", f"https://example.org/{n}"), s["title"], s.get("summary", "A summary."),
                 at, at, at, s.get("kind", "lawsuit"), s["id"]),
            )
            kind = s.get("type", "story.created")
            ev = conn.execute("INSERT INTO story_events (story_id, type, item_id, at) VALUES (?, ?, ?, ?)",
                              (s["id"], kind, cur.lastrowid, at))
            enqueue(conn, int(ev.lastrowid or 0), kind, s["id"], at)
            events.append(int(ev.lastrowid or 0))
    return events
