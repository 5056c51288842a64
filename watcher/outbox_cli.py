"""The operator's commands on the outbox: `deliveries list|retry`, `webhooks test|enable`, `digest preview`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO, TypeVar

from watcher.config import Config
from watcher.domain import Delivery, Jurisdiction, Story, StoryRef, iso_utc
from watcher.store import outbox as sql
from watcher.store.db import Database, transaction

T = TypeVar("T")

COLUMNS = ("id", "channel", "target", "story", "status", "attempts", "next attempt", "last error")


def _when(ts: float | None) -> str:
    return (iso_utc(ts) or "-").replace("T", " ")


def _row(d: Delivery) -> tuple[str, ...]:
    error = " ".join((d.last_error or "-").split())
    next_at = _when(d.next_attempt_at) if d.status.value in ("pending", "failed") else "-"
    return (d.id, d.channel, d.target, d.story_id or "-", d.status.value, str(d.attempts), next_at,
            error if len(error) <= 70 else error[:69] + "…")


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [COLUMNS, *rows]]
    return "\n".join(lines)


def list_deliveries(state: Path, status: str | None, limit: int, out: TextIO) -> int:
    with Database(state) as db:
        rows = db.run_sync(sql.list_deliveries, status, limit)
        counts = db.run_sync(sql.counts)
    print(format_table([_row(d) for d in rows]), file=out)
    print(", ".join(f"{n} {s}" for s, n in counts.items()), file=out)
    return 0


def retry(state: Path, delivery_id: str | None, out: TextIO) -> int:
    """Make one delivery (or every failed and dead one) due now; the outbox sends it next.
    Cancelled deliveries (their recipient left the config) are final and stay as they are."""
    from watcher.store import mail

    with Database(state) as db:
        found = db.run_sync(sql.get_delivery, delivery_id) if delivery_id is not None else None
        if delivery_id is not None and found is None:
            raise LookupError(f"no delivery {delivery_id!r}")
        if found is not None and found.status.value == "cancelled":  # final: its recipient left the config
            print(f"{delivery_id}: cancelled ({found.last_error}); not retried", file=out)
            return 0
        now = time.time()
        n = _write(db, sql.make_due, delivery_id, now)
        digests = _write(db, mail.make_due, delivery_id, now)
    print(f"{n} deliveries due now" + (f", and {digests} digests" if digests else ""), file=out)
    return 0


def enable(state: Path, config: Config, name: str, out: TextIO) -> int:
    hook = next((h for h in config.webhooks if h.name == name), None)
    if hook is None:
        raise LookupError(f"no webhook named {name!r} in {config.path}")
    with Database(state) as db:
        _write(db, sql.sync_endpoints, [(hook.name, hook.url)])
        _write(db, sql.enable_endpoint, name)
    print(f"{name}: enabled", file=out)
    return 0


def _write(db: Database, fn: Callable[..., T], *args: Any) -> T:
    """`fn(conn, *args)` in one transaction: the commands' synchronous db.write."""
    with transaction(db.conn) as conn:
        return fn(conn, *args)


def sample_story(now: float) -> Story:
    return Story(
        id="s-test",
        title="Test event from Sanctuary Watch",
        kind="statement",
        score=1.0,
        jurisdictions=(Jurisdiction("Chicago", "IL", "city", "1714000"),),
        reasons=("a test sent by `watcher webhooks test`: no story behind it",),
        first_seen=now,
        updated=now,
        items=(StoryRef(source="sanctuary-watch", title="Test event from Sanctuary Watch", url="https://example.org/",
                        published=None, summary="If you can read this, the webhook works."),),
    )


def test_webhook(config: Config, name: str, out: TextIO) -> int:
    """Send one signed `webhook.test` event to a webhook now and print its answer; exit 0 on 2xx."""
    from watcher.deliver.enqueue import new_delivery_id
    from watcher.deliver.sender import WebhookChannel, WebhookSender
    from watcher.deliver.webhooks import TEST_EVENT, render

    hook = next((h for h in config.webhooks if h.name == name), None)
    if hook is None:
        raise LookupError(f"no webhook named {name!r} in {config.path}")
    now = time.time()
    body = render(hook.format, TEST_EVENT, sample_story(now), now).encode("utf-8")
    msg_id = new_delivery_id()

    async def send():
        async with WebhookSender(config.settings.webhooks, config.settings.user_agent) as sender:
            channel = WebhookChannel([hook.model_copy(update={"enabled": True})], config.secrets, sender)
            return await channel.post(hook, msg_id, body)

    attempt = asyncio.run(send())
    print(f"POST {hook.url}  webhook-id: {msg_id}", file=out)
    if attempt.status is not None:
        print(f"HTTP {attempt.status}", file=out)
        if attempt.answer:
            print(attempt.answer[:2000], file=out)
    if not attempt.ok:
        print(f"failed: {attempt.error}", file=out)
    return 0 if attempt.ok else 1


def preview_digest(config: Config, state: Path, email: str, html: bool, out: TextIO) -> int:
    """Print what a subscriber would get if everything waiting for them went out now."""
    from watcher.app import open_mailer

    async def render():
        async with Database(state) as db:
            async with open_mailer(config, db, state) as mailer:
                await mailer.prepare()
                return await mailer.preview(email)

    msg = asyncio.run(render())
    if msg is None:
        print(f"nothing waiting for {email.strip().lower()}: no digest would be sent now", file=out)
        return 0
    from watcher.deliver.message import body

    print(f"Subject: {msg['Subject']}", file=out)
    print(body(msg, "html" if html else "plain"), file=out)
    return 0
