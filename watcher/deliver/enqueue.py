"""Creating the deliveries a story event causes, inside the poll's transaction.

Called by the story desk for each `story.created` and `story.updated` event. The
story is read as it stands after the poll, every configured and enabled webhook
whose filter takes it gets one delivery, and each delivery's body is rendered
now and frozen: every attempt sends the same bytes. Every configured subscriber
whose filter takes it (and who has not unsubscribed and is not bouncing) gets
one email delivery too, carrying only the event type: the digest it goes into
shows the story as it stands when the digest is sent. The poll's commit makes
the deliveries durable together with the story, before anything is sent.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Sequence

from watcher.config import Subscriber, Webhook
from watcher.deliver.filters import matches
from watcher.deliver.webhooks import render
from watcher.domain import Delivery, DeliveryStatus
from watcher.store import mail as mail_sql
from watcher.store import outbox as sql


def new_delivery_id() -> str:
    """A message id: unique, no dots (Standard Webhooks signs `id.timestamp.body`)."""
    return "msg_" + secrets.token_hex(12)


class Enqueuer:
    def __init__(
        self,
        webhooks: Sequence[Webhook],
        subscribers: Sequence[Subscriber] = (),
        *,
        ids: Callable[[], str] = new_delivery_id,
        bell: Callable[[], None] | None = None,
    ):
        self.webhooks = [w for w in webhooks if w.enabled]
        self.subscribers = list(subscribers)
        self.ids = ids
        self.bell = bell  # rung when deliveries were added (the outbox wakes after the commit)

    def __call__(self, conn: sqlite3.Connection, event_id: int, event_type: str, story_id: str, now: float) -> int:
        if not self.webhooks and not self.subscribers:
            return 0
        story = sql.load_story(conn, story_id)
        rows = [
            Delivery(
                id=self.ids(),
                channel="webhook",
                target=w.name,
                story_id=story_id,
                event_id=event_id,
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                payload=render(w.format, event_type, story, now),
                created_at=now,
            )
            for w in self.webhooks
            if matches(w.filter, story)
        ]
        if self.subscribers:
            inactive = mail_sql.inactive(conn)
            payload = mail_sql.event_payload(event_type)
            rows += [
                Delivery(
                    id=self.ids(),
                    channel="email",
                    target=s.email.lower(),
                    story_id=story_id,
                    event_id=event_id,
                    status=DeliveryStatus.PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    payload=payload,
                    created_at=now,
                )
                for s in self.subscribers
                if s.email.lower() not in inactive and matches(s.filter, story)
            ]
        added = sql.add_deliveries(conn, rows)
        if added and self.bell is not None:
            # Runs inside the transaction, on the loop's thread: whoever waits on the bell
            # runs only after this loop turn, i.e. after the COMMIT (or the ROLLBACK).
            self.bell()
        return added
