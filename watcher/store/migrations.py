"""Ordered, named schema migrations, recorded in the database and applied on open.

Append new migrations to the end; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable

Migration = tuple[str, Callable[[sqlite3.Connection], None]]


def _script(sql: str) -> Callable[[sqlite3.Connection], None]:
    def apply(conn: sqlite3.Connection) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                conn.execute(statement)

    return apply


MIGRATIONS: list[Migration] = [
    (
        "0001_sources_and_items",
        _script(
            """
            CREATE TABLE sources (
                name TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                url TEXT NOT NULL,
                baseline_done INTEGER NOT NULL DEFAULT 0,
                etag TEXT,
                last_modified TEXT,
                body_hash TEXT,
                last_poll_at REAL,
                last_success_at REAL,
                last_status TEXT,
                last_error TEXT,
                last_latency REAL,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL,
                flagged INTEGER NOT NULL DEFAULT 0,
                polls INTEGER NOT NULL DEFAULT 0,
                failures INTEGER NOT NULL DEFAULT 0,
                not_modified INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE items (
                id INTEGER PRIMARY KEY,
                source TEXT NOT NULL,
                key TEXT NOT NULL,
                alt_key TEXT NOT NULL,
                url TEXT NOT NULL,
                title TEXT NOT NULL,
                summary TEXT NOT NULL,
                body TEXT NOT NULL,
                published REAL,
                first_seen REAL NOT NULL,
                updated_at REAL NOT NULL,
                content_hash TEXT NOT NULL,
                revision INTEGER NOT NULL DEFAULT 1,
                silent INTEGER NOT NULL,
                relevant INTEGER NOT NULL DEFAULT 0,
                kind TEXT,
                score REAL NOT NULL DEFAULT 0,
                verdict TEXT NOT NULL DEFAULT '{}',
                UNIQUE (source, key)
            );
            CREATE INDEX items_by_alt_key ON items (source, alt_key);
            CREATE INDEX items_relevant_recent ON items (relevant, first_seen);
            CREATE TABLE list_members (
                source TEXT NOT NULL,
                key TEXT NOT NULL,
                label TEXT NOT NULL,
                since REAL NOT NULL,
                PRIMARY KEY (source, key)
            )
            """
        ),
    ),
    (
        "0002_stories",
        _script(
            """
            CREATE TABLE stories (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                title TEXT NOT NULL,
                url TEXT NOT NULL DEFAULT '',
                score REAL NOT NULL,
                jurisdictions TEXT NOT NULL,
                reasons TEXT NOT NULL,
                first_seen REAL NOT NULL,
                updated REAL NOT NULL,
                alerted INTEGER NOT NULL DEFAULT 0,
                state TEXT NOT NULL
            );
            CREATE INDEX stories_by_updated ON stories (updated);
            ALTER TABLE items ADD COLUMN story_id TEXT REFERENCES stories (id);
            CREATE INDEX items_by_story ON items (story_id);
            CREATE TABLE story_events (
                id INTEGER PRIMARY KEY,
                story_id TEXT NOT NULL REFERENCES stories (id),
                type TEXT NOT NULL,
                item_id INTEGER NOT NULL REFERENCES items (id),
                at REAL NOT NULL
            );
            CREATE INDEX story_events_by_story ON story_events (story_id)
            """
        ),
    ),
    (
        "0003_outbox",
        _script(
            """
            CREATE TABLE deliveries (
                id TEXT PRIMARY KEY,
                channel TEXT NOT NULL,
                target TEXT NOT NULL,
                story_id TEXT REFERENCES stories (id),
                event_id INTEGER REFERENCES story_events (id),
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL,
                last_error TEXT,
                last_status INTEGER,
                created_at REAL NOT NULL,
                sent_at REAL,
                payload TEXT NOT NULL
            );
            CREATE INDEX deliveries_queue ON deliveries (channel, target, created_at, event_id)
                WHERE status IN ('pending', 'failed');
            CREATE INDEX deliveries_by_status ON deliveries (status, created_at);
            CREATE INDEX deliveries_by_story ON deliveries (story_id);
            CREATE TABLE endpoints (
                name TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                enabled INTEGER NOT NULL DEFAULT 1,
                disabled_reason TEXT,
                last_success_at REAL,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                failing_since REAL
            )
            """
        ),
    ),
    (
        "0004_email",
        _script(
            """
            CREATE TABLE subscribers (
                email TEXT PRIMARY KEY,
                created_at REAL NOT NULL,
                unsubscribed_at REAL,
                bouncing INTEGER NOT NULL DEFAULT 0,
                bounces INTEGER NOT NULL DEFAULT 0,
                last_digest_at REAL,
                last_sent_at REAL
            );
            CREATE TABLE digests (
                id TEXT PRIMARY KEY,
                subscriber TEXT NOT NULL,
                created_at REAL NOT NULL,
                status TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL,
                last_error TEXT,
                last_status INTEGER,
                sent_at REAL
            );
            CREATE INDEX digests_queue ON digests (next_attempt_at) WHERE status IN ('pending', 'failed');
            CREATE INDEX digests_by_subscriber ON digests (subscriber, created_at);
            ALTER TABLE deliveries ADD COLUMN digest_id TEXT REFERENCES digests (id);
            CREATE INDEX deliveries_by_digest ON deliveries (digest_id);
            CREATE INDEX deliveries_unclaimed ON deliveries (target, created_at)
                WHERE channel = 'email' AND status = 'pending' AND digest_id IS NULL;
            CREATE INDEX deliveries_mailed ON deliveries (target, story_id) WHERE channel = 'email' AND status = 'sent';
            CREATE TABLE server_secrets (
                name TEXT PRIMARY KEY,
                value TEXT NOT NULL,
                created_at REAL NOT NULL
            )
            """
        ),
    ),
    (
        # Most items are neither relevant nor in a story: partial indexes keep them out of
        # both, which saves ~15% of the insert cost of a cold poll (bench/bench_poll.py).
        "0005_partial_item_indexes",
        _script(
            """
            DROP INDEX items_relevant_recent;
            CREATE INDEX items_relevant_recent ON items (first_seen) WHERE relevant = 1;
            DROP INDEX items_by_story;
            CREATE INDEX items_by_story ON items (story_id) WHERE story_id IS NOT NULL
            """
        ),
    ),
    (
        # A sender claims a delivery (webhooks) or a digest (email) before it sends it: a lease,
        # so two processes on one state file never both send one (deliver/lease.py).
        "0006_claims",
        _script(
            """
            ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
            ALTER TABLE deliveries ADD COLUMN claim_until REAL;
            ALTER TABLE digests ADD COLUMN claimed_by TEXT;
            ALTER TABLE digests ADD COLUMN claim_until REAL
            """
        ),
    ),
]


def migrate(conn: sqlite3.Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply what has not been applied, each in its own transaction. Returns the names applied."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, applied_at REAL NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM migrations")}
    applied = []
    for name, apply in migrations if migrations is not None else MIGRATIONS:
        if name in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            apply(conn)
            conn.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(name)
    return applied
