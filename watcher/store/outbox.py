"""SQL for the outbox: deliveries (one row per recipient per story event) and endpoint state.

A delivery is `pending` (due at next_attempt_at), `failed` (an attempt failed; due
again at next_attempt_at), `sent`, `dead` (kept for the operator), or `cancelled`
(its webhook was removed from the config: kept, never sent). The queue of one
recipient is its pending and failed deliveries, oldest first. A sender claims a
delivery before each attempt (`claim`) and its outcome clears the claim
(`record_step`): see deliver/lease.py.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from watcher.deliver.policy import Step
from watcher.store.stories import story_of_row
from watcher.domain import (
    Delivery,
    DeliveryStatus,
    Endpoint,
    Story,
    StoryRef,
)

SUMMARY_CHARS = 500  # an item's summary in a story, at most (webhook payloads stay small)

_QUEUED = "status IN ('pending', 'failed')"


class ClaimLost(Exception):
    """A sender's claim ran out before its outcome was written, and another sender has it now."""


def _utc(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def load_story(conn: sqlite3.Connection, story_id: str) -> Story:
    """A story with its items, in the shape that leaves the machine."""
    row = conn.execute(
        "SELECT id, title, kind, score, jurisdictions, reasons, first_seen, updated FROM stories WHERE id = ?",
        (story_id,),
    ).fetchone()
    if row is None:
        raise KeyError(story_id)
    items = conn.execute(
        """SELECT source, title, url, published, summary FROM items WHERE story_id = ?
           ORDER BY COALESCE(published, first_seen), id""",
        (story_id,),
    )
    refs = tuple(
        StoryRef(source=i["source"], title=i["title"], url=i["url"], published=_utc(i["published"]),
                 summary=_clip(i["summary"], SUMMARY_CHARS))
        for i in items
    )
    return story_of_row(row, refs)


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        channel=row["channel"],
        target=row["target"],
        story_id=row["story_id"],
        event_id=row["event_id"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        payload=row["payload"],
        created_at=row["created_at"],
        last_error=row["last_error"],
        last_status=row["last_status"],
        sent_at=row["sent_at"],
        claimed_by=row["claimed_by"],
        claim_until=row["claim_until"],
    )


def add_deliveries(conn: sqlite3.Connection, deliveries: Iterable[Delivery]) -> int:
    rows = [
        (d.id, d.channel, d.target, d.story_id, d.event_id, d.status.value, d.attempts, d.next_attempt_at,
         d.created_at, d.payload)
        for d in deliveries
    ]
    conn.executemany(
        """INSERT INTO deliveries (id, channel, target, story_id, event_id, status, attempts, next_attempt_at,
                                   created_at, payload)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        rows,
    )
    return len(rows)


def queue(conn: sqlite3.Connection, channel: str, target: str, limit: int) -> list[Delivery]:
    """The oldest `limit` deliveries still to be sent to one recipient, in order."""
    rows = conn.execute(
        f"""SELECT * FROM deliveries WHERE channel = ? AND target = ? AND {_QUEUED}
            ORDER BY created_at, event_id, id LIMIT ?""",
        (channel, target, limit),
    )
    return [_delivery(r) for r in rows]


def claim(conn: sqlite3.Connection, delivery_id: str, owner: str, now: float, until: float) -> Delivery | None:
    """Claim a delivery for one attempt by `owner`, until `until`: only if it is still to be sent, due, not
    claimed by another sender whose lease runs, and its endpoint is not disabled. Returns it as it now
    stands, or None: not ours to send."""
    cur = conn.execute(
        f"""UPDATE deliveries SET claimed_by = ?, claim_until = ?
            WHERE id = ? AND {_QUEUED} AND COALESCE(next_attempt_at, 0) <= ?
              AND (claimed_by IS NULL OR claimed_by = ? OR claim_until <= ?)
              AND NOT EXISTS (SELECT 1 FROM endpoints e WHERE e.name = deliveries.target AND e.enabled = 0
                                                       AND deliveries.channel = 'webhook')""",
        (owner, until, delivery_id, now, owner, now),
    )
    return get_delivery(conn, delivery_id) if cur.rowcount else None


def claimants(conn: sqlite3.Connection) -> set[str]:
    """Every sender holding a claim on a delivery still to be sent, its lease run out or not."""
    return {r[0] for r in conn.execute(f"SELECT DISTINCT claimed_by FROM deliveries WHERE claimed_by IS NOT NULL AND {_QUEUED}")}


def release(conn: sqlite3.Connection, owners: Iterable[str]) -> int:
    """Drop the claims of these senders (they are gone): what they held is due again at once."""
    n = 0
    for owner in owners:
        n += conn.execute("UPDATE deliveries SET claimed_by = NULL, claim_until = NULL WHERE claimed_by = ?",
                          (owner,)).rowcount
    return n


def cancel_orphans(conn: sqlite3.Connection, configured: Sequence[str], now: float) -> int:
    """Webhook deliveries still to be sent to a webhook no longer in the config become `cancelled`, for
    good. One claimed by a sender whose lease runs is left to that sender's outcome (the next start sees it)."""
    marks = ",".join("?" * len(configured))
    known = f"AND target NOT IN ({marks})" if configured else ""
    cur = conn.execute(
        f"""UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL,
                                  last_error = 'webhook removed from the config', claimed_by = NULL, claim_until = NULL
            WHERE channel = 'webhook' AND {_QUEUED} {known} AND (claimed_by IS NULL OR claim_until <= ?)""",
        (*configured, now),
    )
    return cur.rowcount


def get_delivery(conn: sqlite3.Connection, delivery_id: str) -> Delivery | None:
    row = conn.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
    return None if row is None else _delivery(row)


def list_deliveries(conn: sqlite3.Connection, status: str | None = None, limit: int = 100) -> list[Delivery]:
    """The newest deliveries first (of one status, if given)."""
    if status is None:
        rows = conn.execute("SELECT * FROM deliveries ORDER BY created_at DESC, event_id DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute(
            "SELECT * FROM deliveries WHERE status = ? ORDER BY created_at DESC, event_id DESC LIMIT ?", (status, limit)
        )
    return [_delivery(r) for r in rows]


def counts(conn: sqlite3.Connection, channel: str | None = None) -> dict[str, int]:
    """How many deliveries there are in each status."""
    out = {s.value: 0 for s in DeliveryStatus}
    if channel is None:
        rows = conn.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
    else:
        rows = conn.execute("SELECT status, COUNT(*) FROM deliveries WHERE channel = ? GROUP BY status", (channel,))
    for status, n in rows:
        out[status] = n
    return out


def make_due(conn: sqlite3.Connection, delivery_id: str | None, now: float) -> int:
    """Failed (backing off) and dead deliveries, one or all, become pending and due now.
    Email deliveries already in a digest follow their digest (`store.mail.make_due`)."""
    if delivery_id is None:
        cur = conn.execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ? WHERE status IN ('failed', 'dead')"
            " AND digest_id IS NULL",
            (now,),
        )
    else:
        cur = conn.execute(
            "UPDATE deliveries SET status = 'pending', next_attempt_at = ? WHERE id = ?"
            " AND status NOT IN ('sent', 'cancelled') AND digest_id IS NULL",
            (now, delivery_id),
        )
    return cur.rowcount


def record_step(conn: sqlite3.Connection, delivery: Delivery, step: Step, now: float,
                owner: str | None = None) -> Endpoint | None:
    """An attempt's outcome, for the delivery and (webhooks) its endpoint; returns the endpoint's new state.
    With `owner`, only while that sender still holds the claim (then cleared); else nothing is written and
    ClaimLost is raised: the lease ran out and another sender took the delivery over."""
    claim = "" if owner is None else " AND claimed_by = ?"
    cur = conn.execute(
        f"""UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, last_status = ?,
                                  sent_at = ?, claimed_by = NULL, claim_until = NULL WHERE id = ?{claim}""",
        (step.status.value, step.attempts, step.next_attempt_at, step.error, step.http_status,
         now if step.status is DeliveryStatus.SENT else None, delivery.id, *(() if owner is None else (owner,))),
    )
    if cur.rowcount == 0 and owner is not None:
        raise ClaimLost(delivery.id)
    if delivery.channel != "webhook":
        return None
    if step.status is DeliveryStatus.SENT:
        conn.execute(
            "UPDATE endpoints SET last_success_at = ?, consecutive_failures = 0, failing_since = NULL WHERE name = ?",
            (now, delivery.target),
        )
    else:
        conn.execute(
            """UPDATE endpoints SET consecutive_failures = consecutive_failures + 1,
                                    failing_since = COALESCE(failing_since, ?) WHERE name = ?""",
            (now, delivery.target),
        )
    if step.disable is not None:
        conn.execute("UPDATE endpoints SET enabled = 0, disabled_reason = ? WHERE name = ?", (step.disable, delivery.target))
    return get_endpoint(conn, delivery.target)


# --- endpoints ---------------------------------------------------------------


def _endpoint(row: sqlite3.Row) -> Endpoint:
    return Endpoint(
        name=row["name"],
        url=row["url"],
        enabled=bool(row["enabled"]),
        disabled_reason=row["disabled_reason"],
        last_success_at=row["last_success_at"],
        consecutive_failures=row["consecutive_failures"],
        failing_since=row["failing_since"],
    )


def get_endpoint(conn: sqlite3.Connection, name: str) -> Endpoint | None:
    row = conn.execute("SELECT * FROM endpoints WHERE name = ?", (name,)).fetchone()
    return None if row is None else _endpoint(row)


def sync_endpoints(conn: sqlite3.Connection, spec: Sequence[tuple[str, str]]) -> dict[str, Endpoint]:
    """Make a row for each configured (name, url); an endpoint whose URL changed starts afresh (enabled)."""
    for name, url in spec:
        conn.execute(
            """INSERT INTO endpoints (name, url) VALUES (?, ?)
               ON CONFLICT (name) DO UPDATE SET url = excluded.url, enabled = 1, disabled_reason = NULL,
                   consecutive_failures = 0, failing_since = NULL
               WHERE endpoints.url != excluded.url""",
            (name, url),
        )
    names = [n for n, _ in spec]
    marks = ",".join("?" * len(names))
    rows = conn.execute(f"SELECT * FROM endpoints WHERE name IN ({marks})", names) if names else []
    return {r["name"]: _endpoint(r) for r in rows}


def enable_endpoint(conn: sqlite3.Connection, name: str) -> bool:
    """Enable an endpoint again (after a 410 or a long failure); False if it has no state yet."""
    cur = conn.execute(
        "UPDATE endpoints SET enabled = 1, disabled_reason = NULL, consecutive_failures = 0, failing_since = NULL"
        " WHERE name = ?",
        (name,),
    )
    return cur.rowcount > 0


def disabled_endpoints(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM endpoints WHERE enabled = 0")}
