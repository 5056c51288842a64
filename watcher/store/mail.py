"""SQL for email: subscribers' live state, digests, and the server's secrets.

An email delivery (channel `email`, target the lower-cased address) is created
`pending` by the poll that found its story. When the subscriber is due, a digest
claims every unclaimed pending delivery of theirs (`deliveries.digest_id`), in
one transaction, before anything is sent. The digest is then `pending`,
`failed` (waiting on backoff), `sent`, `dead`, or `cancelled` (its subscriber
left the config), and its deliveries follow it. A sender claims a digest before
each attempt (`claim_digest`) and its outcome clears the claim: see
deliver/lease.py.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence

from watcher.domain import DeliveryStatus, Digest, Subscription
from watcher.store.outbox import ClaimLost

_UNCLAIMED = "channel = 'email' AND status = 'pending' AND digest_id IS NULL"
_UNSENT = "status IN ('pending', 'failed')"


def _subscription(row: sqlite3.Row) -> Subscription:
    return Subscription(
        email=row["email"], created_at=row["created_at"],
        unsubscribed_at=row["unsubscribed_at"], bouncing=bool(row["bouncing"]), bounces=row["bounces"],
        last_digest_at=row["last_digest_at"], last_sent_at=row["last_sent_at"],
    )


def _digest(row: sqlite3.Row) -> Digest:
    return Digest(
        id=row["id"], subscriber=row["subscriber"], created_at=row["created_at"],
        status=DeliveryStatus(row["status"]), attempts=row["attempts"], next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"], last_status=row["last_status"], sent_at=row["sent_at"],
        claimed_by=row["claimed_by"], claim_until=row["claim_until"],
    )


# --- subscribers -------------------------------------------------------------


REMOVED = "subscriber removed from the config"


def sync_subscribers(conn: sqlite3.Connection, emails: Sequence[str], now: float) -> dict[str, Subscription]:
    """A row for every configured subscriber.
    What waits for addresses no longer in the config (deliveries not yet in a digest, digests not yet sent)
    is cancelled, for good; a digest another sender is sending (its lease runs) is left to its outcome."""
    conn.executemany(
        "INSERT OR IGNORE INTO subscribers (email, created_at) VALUES (?, ?)", [(e, now) for e in emails],
    )
    wanted = set(emails)
    gone = [t for (t,) in conn.execute(f"SELECT DISTINCT target FROM deliveries WHERE {_UNCLAIMED}") if t not in wanted]
    conn.executemany(
        f"UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, last_error = '{REMOVED}'"
        f" WHERE target = ? AND {_UNCLAIMED}",
        [(t,) for t in gone],
    )
    unsent = conn.execute(
        f"SELECT id, subscriber FROM digests WHERE {_UNSENT} AND (claimed_by IS NULL OR claim_until <= ?)", (now,)
    ).fetchall()
    for digest_id, subscriber in unsent:
        if subscriber not in wanted:
            _settle(conn, digest_id, DeliveryStatus.CANCELLED, None, REMOVED, None, now)
            conn.execute("UPDATE digests SET claimed_by = NULL, claim_until = NULL WHERE id = ?", (digest_id,))
    return subscriptions(conn)


def subscriptions(conn: sqlite3.Connection) -> dict[str, Subscription]:
    return {r["email"]: _subscription(r) for r in conn.execute("SELECT * FROM subscribers")}


def get_subscription(conn: sqlite3.Connection, email: str) -> Subscription | None:
    row = conn.execute("SELECT * FROM subscribers WHERE email = ?", (email,)).fetchone()
    return None if row is None else _subscription(row)


def inactive(conn: sqlite3.Connection) -> set[str]:
    """Addresses that get nothing new: unsubscribed or bouncing."""
    rows = conn.execute("SELECT email FROM subscribers WHERE unsubscribed_at IS NOT NULL OR bouncing = 1")
    return {r[0] for r in rows}


def unsubscribe(conn: sqlite3.Connection, email: str, now: float) -> bool:
    """Unsubscribe an address (known or not: the row remembers it); False if it already was.
    Its unclaimed and unsent mail is dropped (dead, 'unsubscribed')."""
    conn.execute("INSERT OR IGNORE INTO subscribers (email, created_at) VALUES (?, ?)", (email, now))
    cur = conn.execute("UPDATE subscribers SET unsubscribed_at = ? WHERE email = ? AND unsubscribed_at IS NULL",
                       (now, email))
    if cur.rowcount == 0:
        return False
    conn.execute(f"UPDATE deliveries SET status = 'dead', last_error = 'unsubscribed' WHERE target = ? AND {_UNCLAIMED}",
                 (email,))
    for (digest_id,) in conn.execute(f"SELECT id FROM digests WHERE subscriber = ? AND {_UNSENT}", (email,)).fetchall():
        _settle(conn, digest_id, DeliveryStatus.DEAD, None, "unsubscribed", None, now)
    return True


def pending_targets(conn: sqlite3.Connection) -> dict[str, float]:
    """Addresses with unclaimed pending deliveries, and when the oldest of them was made."""
    return dict(conn.execute(f"SELECT target, MIN(created_at) FROM deliveries WHERE {_UNCLAIMED} GROUP BY target"))


def unsent_subscribers(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute(f"SELECT DISTINCT subscriber FROM digests WHERE {_UNSENT}")}


# --- digests -----------------------------------------------------------------


def claim(conn: sqlite3.Connection, due: Iterable[tuple[str, str, float]], now: float) -> list[str]:
    """For each due (address, new digest id, cutoff): a new digest claims the address's unclaimed
    pending deliveries made up to the cutoff, if there are any. Returns the digests made."""
    made = []
    for email, digest_id, cutoff in due:
        if conn.execute(f"SELECT 1 FROM digests WHERE subscriber = ? AND {_UNSENT}", (email,)).fetchone():
            continue  # another sender built one since the caller looked: one unsent digest per address
        conn.execute("INSERT INTO digests (id, subscriber, created_at, status, next_attempt_at) VALUES (?, ?, ?, 'pending', ?)",
                     (digest_id, email, now, now))
        cur = conn.execute(f"UPDATE deliveries SET digest_id = ? WHERE target = ? AND {_UNCLAIMED} AND created_at <= ?",
                           (digest_id, email, cutoff))
        if cur.rowcount == 0:
            conn.execute("DELETE FROM digests WHERE id = ?", (digest_id,))
            continue
        conn.execute("UPDATE subscribers SET last_digest_at = ? WHERE email = ?", (now, email))
        made.append(digest_id)
    return made


def due_digests(conn: sqlite3.Connection, now: float, limit: int) -> list[Digest]:
    """Digests due now that no sender holds (a claim whose lease runs)."""
    rows = conn.execute(
        f"SELECT * FROM digests WHERE {_UNSENT} AND next_attempt_at <= ? AND (claimed_by IS NULL OR claim_until <= ?)"
        f" ORDER BY created_at, id LIMIT ?", (now, now, limit)
    )
    return [_digest(r) for r in rows]


def next_digest_at(conn: sqlite3.Connection) -> float | None:
    """When the next unsent digest is due and free of claims."""
    return conn.execute(
        f"SELECT MIN(MAX(next_attempt_at, COALESCE(claim_until, 0))) FROM digests WHERE {_UNSENT}"
    ).fetchone()[0]


def claim_digest(conn: sqlite3.Connection, digest_id: str, owner: str, now: float, until: float) -> Digest | None:
    """Claim a digest for one attempt by `owner`, until `until`: only if it is still unsent, due, and not
    claimed by another sender whose lease runs. Returns it as it now stands, or None: not ours to send."""
    cur = conn.execute(
        f"""UPDATE digests SET claimed_by = ?, claim_until = ?
            WHERE id = ? AND {_UNSENT} AND next_attempt_at <= ?
              AND (claimed_by IS NULL OR claimed_by = ? OR claim_until <= ?)""",
        (owner, until, digest_id, now, owner, now),
    )
    return get_digest(conn, digest_id) if cur.rowcount else None


def claimants(conn: sqlite3.Connection) -> set[str]:
    """Every sender holding a claim on an unsent digest, its lease run out or not."""
    return {r[0] for r in conn.execute(f"SELECT DISTINCT claimed_by FROM digests WHERE claimed_by IS NOT NULL AND {_UNSENT}")}


def release(conn: sqlite3.Connection, owners: Iterable[str]) -> int:
    """Drop the claims of these senders (they are gone): what they held is due again at once."""
    return sum(conn.execute("UPDATE digests SET claimed_by = NULL, claim_until = NULL WHERE claimed_by = ?",
                            (o,)).rowcount for o in owners)


def get_digest(conn: sqlite3.Connection, digest_id: str) -> Digest | None:
    row = conn.execute("SELECT * FROM digests WHERE id = ?", (digest_id,)).fetchone()
    return None if row is None else _digest(row)


def contents(conn: sqlite3.Connection, digest_id: str) -> list[str]:
    """The stories a digest covers, once each, in the order their first event happened."""
    rows = conn.execute("SELECT story_id FROM deliveries WHERE digest_id = ? ORDER BY event_id, id", (digest_id,))
    return list(dict.fromkeys(r[0] for r in rows if r[0] is not None))


def unclaimed_stories(conn: sqlite3.Connection, email: str) -> list[str]:
    rows = conn.execute(f"SELECT story_id FROM deliveries WHERE target = ? AND {_UNCLAIMED} ORDER BY event_id", (email,))
    return list(dict.fromkeys(r[0] for r in rows if r[0] is not None))


def mailed(conn: sqlite3.Connection, email: str, story_ids: Sequence[str]) -> set[str]:
    """Which of these stories this address was already sent."""
    if not story_ids:
        return set()
    marks = ",".join("?" * len(story_ids))
    rows = conn.execute(
        f"SELECT DISTINCT story_id FROM deliveries WHERE channel = 'email' AND target = ? AND status = 'sent'"
        f" AND story_id IN ({marks})",
        (email, *story_ids),
    )
    return {r[0] for r in rows}


def _settle(conn: sqlite3.Connection, digest_id: str, status: DeliveryStatus, next_at: float | None,
            error: str | None, code: int | None, now: float, attempts: int | None = None,
            owner: str | None = None) -> None:
    """A digest's new state, and its deliveries'. With `owner`: only while that sender holds the claim
    (then cleared), else ClaimLost."""
    sent_at = now if status is DeliveryStatus.SENT else None
    held = "" if owner is None else ", claimed_by = NULL, claim_until = NULL"
    cur = conn.execute(
        f"UPDATE digests SET status = ?, attempts = COALESCE(?, attempts), next_attempt_at = ?, last_error = ?,"
        f" last_status = ?, sent_at = ?{held} WHERE id = ?{'' if owner is None else ' AND claimed_by = ?'}",
        (status.value, attempts, next_at, error, code, sent_at, digest_id, *(() if owner is None else (owner,))),
    )
    if owner is not None and cur.rowcount == 0:
        raise ClaimLost(digest_id)
    conn.execute(
        "UPDATE deliveries SET status = ?, attempts = COALESCE(?, attempts), next_attempt_at = ?, last_error = ?,"
        " last_status = ?, sent_at = ? WHERE digest_id = ?",
        (status.value, attempts, next_at, error, code, sent_at, digest_id),
    )


def record(conn: sqlite3.Connection, digest: Digest, status: DeliveryStatus, next_at: float | None,
           error: str | None, code: int | None, bounced: bool, bounce_limit: int, now: float,
           owner: str | None = None) -> Subscription | None:
    """An attempt's outcome for a digest, its deliveries and its subscriber (sent: bounces reset;
    refused: one more bounce, bouncing at `bounce_limit`). Returns the subscriber's new state.
    With `owner`, only while that sender holds the claim (ClaimLost otherwise)."""
    _settle(conn, digest.id, status, next_at, error, code, now, digest.attempts + 1, owner)
    if status is DeliveryStatus.SENT:
        conn.execute("UPDATE subscribers SET bounces = 0, bouncing = 0, last_sent_at = ? WHERE email = ?",
                     (now, digest.subscriber))
    elif bounced:
        conn.execute("UPDATE subscribers SET bounces = bounces + 1, bouncing = (bounces + 1 >= ?) WHERE email = ?",
                     (bounce_limit, digest.subscriber))
    return get_subscription(conn, digest.subscriber)


def drop(conn: sqlite3.Connection, digest: Digest, reason: str, now: float, owner: str | None = None,
         status: DeliveryStatus = DeliveryStatus.DEAD) -> None:
    """A digest that must not be sent (unsubscribed: dead; left the config: cancelled), with the reason."""
    _settle(conn, digest.id, status, None, reason, None, now, owner=owner)


def make_due(conn: sqlite3.Connection, delivery_id: str | None, now: float) -> int:
    """Failed and dead digests (all, or the one a delivery belongs to) become pending and due now."""
    if delivery_id is None:
        ids = [r[0] for r in conn.execute("SELECT id FROM digests WHERE status IN ('failed', 'dead')")]
    else:
        row = conn.execute("SELECT digest_id FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        ids = [row[0]] if row is not None and row[0] is not None else []
        ids = [i for i in ids if conn.execute("SELECT status FROM digests WHERE id = ?", (i,)).fetchone()[0] not in ("sent", "cancelled")]
    for digest_id in ids:
        _settle(conn, digest_id, DeliveryStatus.PENDING, now, None, None, now)
    return len(ids)


def clear_bouncing(conn: sqlite3.Connection, email: str) -> bool:
    cur = conn.execute("UPDATE subscribers SET bouncing = 0, bounces = 0 WHERE email = ?", (email,))
    return cur.rowcount > 0


# --- secrets -----------------------------------------------------------------


def server_secret(conn: sqlite3.Connection, name: str, make: Callable[[], bytes], now: float) -> bytes:
    """A secret kept in the database, made once (by `make`) the first time it is asked for."""
    row = conn.execute("SELECT value FROM server_secrets WHERE name = ?", (name,)).fetchone()
    if row is not None:
        return bytes.fromhex(row[0])
    value = make()
    conn.execute("INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)", (name, value.hex(), now))
    return value


def event_payload(event_type: str) -> str:
    return json.dumps({"type": event_type})
