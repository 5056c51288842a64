"""The outbox worker: sends what is due, one worker per recipient, in order, never one blocking another.

Each recipient (a webhook endpoint; later an email subscriber) has its own worker,
which sends its queue oldest first, one delivery at a time: a delivery that fails
holds back the later ones to the same recipient until it is sent or dead, so a
receiver sees events in the order they happened. Workers run concurrently; a
slow, failing or hanging recipient delays only itself. Every outcome is written
through the database's writer before the worker moves on; a crash between a POST
and that write means the POST is made again after restart, with the same
`webhook-id` (at-least-once).

Before each attempt the worker claims the delivery (`store.outbox.claim`, a
lease: deliver/lease.py), so `watcher deliver --once` running beside the daemon,
or two daemons on one state file, never both send one delivery: a recipient
whose head delivery another sender holds waits for it, in order. On start,
claims left by senders that died are released, and deliveries to webhooks no
longer in the config are cancelled.

The daemon runs `Outbox.run`: workers wake when a poll commits deliveries (the
`bell`), when the head of their queue comes due, and every `tick` seconds (to see
`watcher deliveries retry` from another process). `watcher deliver --once` runs
`Outbox.drain_due`: each worker sends what is due now, then stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from watcher.deliver import lease
from watcher.deliver.policy import Attempt, RetryPolicy, Step, after_attempt
from watcher.domain import Delivery, DeliveryStatus
from watcher.store import outbox as sql
from watcher.store.db import Database

log = logging.getLogger("watcher.outbox")

BATCH = 64  # deliveries read from one queue at a time


class Channel(Protocol):
    """A way deliveries leave the machine: `webhook` (and later `email`)."""

    name: str

    def targets(self) -> list[str]: ...

    async def send(self, delivery: Delivery) -> Attempt: ...


@dataclass
class DeliverSummary:
    """What `watcher deliver --once` prints: sends and failures of this run, and the outbox after it."""

    sent: dict[str, int] = field(default_factory=dict)  # channel -> deliveries sent
    failed: int = 0  # attempts that failed (retried later, or dead)
    pending: int = 0  # pending or backing off, after the run
    dead: int = 0  # dead, after the run

    def as_dict(self) -> dict[str, int]:
        return {
            "emails_sent": self.sent.get("email", 0),
            "webhooks_sent": self.sent.get("webhook", 0),
            "failed": self.failed,
            "pending": self.pending,
            "dead": self.dead,
        }


class Outbox:
    def __init__(
        self,
        db: Database,
        channels: Sequence[Channel],
        policy: RetryPolicy,
        *,
        endpoints: Sequence[tuple[str, str]] = (),  # (name, url) of each webhook, for its live state
        configured: Sequence[str] | None = None,  # every webhook in the config (enabled or not); None: no sweep
        lease_for: float = 60.0,  # seconds a claim holds: longer than any attempt (lease.webhook_lease)
        owner: str = lease.OWNER,
        bell: asyncio.Event | None = None,
        tick: float = 10.0,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ):
        self.db = db
        self.channels = list(channels)
        self.policy = policy
        self.endpoints = list(endpoints)
        self.configured = None if configured is None else list(configured)
        self.lease_for = lease_for
        self.owner = owner
        self.bell = bell or asyncio.Event()
        self.tick = tick
        self.clock = clock
        self.rng = rng
        self.summary = DeliverSummary()
        self._wakes: dict[tuple[str, str], asyncio.Event] = {}

    async def prepare(self) -> None:
        if self.endpoints:
            await self.db.write(sql.sync_endpoints, self.endpoints)
        n, senders = await lease.release_dead(self.db, sql.claimants, sql.release, self.owner)
        if senders:
            log.warning("released the claims of senders that died mid-send; sending again",
                        extra={"deliveries": n, "senders": senders})
        if self.configured is not None:
            n = await self.db.write(sql.cancel_orphans, self.configured, self.clock())
            if n:
                log.warning("cancelled deliveries to webhooks no longer in the config", extra={"deliveries": n})

    def _queues(self) -> list[tuple[Channel, str]]:
        return [(ch, t) for ch in self.channels for t in ch.targets()]

    # --- deliver --once ------------------------------------------------------

    async def drain_due(self) -> DeliverSummary:
        """Send everything due now, every recipient concurrently; then report."""
        await self.prepare()
        await asyncio.gather(*(self._work_isolated(ch, t, None) for ch, t in self._queues()))
        counts = await self.db.run(sql.counts)
        self.summary.pending = counts["pending"] + counts["failed"]
        self.summary.dead = counts["dead"]
        return self.summary

    async def _work_isolated(self, ch: Channel, target: str, stopping: asyncio.Event | None) -> float | None:
        try:
            return await self._work(ch, target, stopping)
        except Exception:
            log.exception("outbox worker failed", extra={"channel": ch.name, "target": target})
            return self.tick

    # --- the daemon ----------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Serve every recipient until `stopping` is set; a send in flight then finishes (or is cancelled)."""
        await self.prepare()
        queues = self._queues()
        self._wakes = {(ch.name, t): asyncio.Event() for ch, t in queues}
        log.info("outbox started", extra={"recipients": len(queues)})
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._relay(stopping))
            for ch, t in queues:
                tg.create_task(self._serve(ch, t, stopping))
        log.info("outbox stopped")

    def wake(self) -> None:
        self.bell.set()

    async def _relay(self, stopping: asyncio.Event) -> None:
        """Passes the bell (new deliveries) and the stop on to every worker."""
        stop = asyncio.ensure_future(stopping.wait())
        try:
            while not stopping.is_set():
                ring = asyncio.ensure_future(self.bell.wait())
                await asyncio.wait({ring, stop}, return_when=asyncio.FIRST_COMPLETED)
                ring.cancel()
                self.bell.clear()
                for ev in self._wakes.values():
                    ev.set()
        finally:
            stop.cancel()
            for ev in self._wakes.values():
                ev.set()

    async def _serve(self, ch: Channel, target: str, stopping: asyncio.Event) -> None:
        wake = self._wakes[(ch.name, target)]
        while not stopping.is_set():
            wake.clear()
            wait = await self._work_isolated(ch, target, stopping)
            if stopping.is_set():
                return
            timeout = self.tick if wait is None else min(max(wait, 0.0), self.tick)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)

    # --- one recipient -------------------------------------------------------

    async def _work(self, ch: Channel, target: str, stopping: asyncio.Event | None) -> float | None:
        """Send this recipient's due deliveries in order. Returns seconds until its head is due
        (None: nothing queued, or the endpoint is disabled)."""
        while True:
            endpoint = await self.db.run(sql.get_endpoint, target) if ch.name == "webhook" else None
            if endpoint is not None and not endpoint.enabled:
                return None
            batch = await self.db.run(sql.queue, ch.name, target, BATCH)
            if not batch:
                return None
            for queued in batch:
                now = self.clock()
                if queued.next_attempt_at is not None and queued.next_attempt_at > now:
                    return queued.next_attempt_at - now
                if held_elsewhere(queued, self.owner, now):
                    return (queued.claim_until or now) - now  # another sender has it: wait, in order
                if stopping is not None and stopping.is_set():
                    return 0.0
                d = await self.db.write(sql.claim, queued.id, self.owner, now, now + self.lease_for)
                if d is None:
                    break  # sent, claimed or rescheduled by another sender since it was read: read again
                attempt = await ch.send(d)
                now = self.clock()
                step = after_attempt(d.attempts, attempt, endpoint, self.policy, now, self.rng())
                try:
                    endpoint = await self.db.write(sql.record_step, d, step, now, self.owner)
                except sql.ClaimLost:
                    log.warning("attempt outlived its claim; another sender took the delivery over",
                                extra={"channel": ch.name, "target": d.target, "delivery": d.id})
                    break
                self._note(ch.name, d, step)
                if step.status is DeliveryStatus.FAILED:
                    return (step.next_attempt_at or now) - now
                if endpoint is not None and not endpoint.enabled:
                    return None

    def _note(self, channel: str, d: Delivery, step: Step) -> None:
        if step.status is DeliveryStatus.SENT:
            self.summary.sent[channel] = self.summary.sent.get(channel, 0) + 1
            log.debug("delivered", extra={"channel": channel, "target": d.target, "delivery": d.id})
            return
        self.summary.failed += 1
        extra = {"channel": channel, "target": d.target, "delivery": d.id, "attempts": step.attempts,
                 "error": step.error}
        if step.status is DeliveryStatus.DEAD:
            log.error("delivery dead: retries exhausted or refused for good", extra=extra)
        else:
            log.warning("delivery failed; will retry", extra={**extra, "next_in": round((step.next_attempt_at or 0) - self.clock(), 1)})
        if step.disable is not None:
            log.error("endpoint disabled", extra={"target": d.target, "reason": step.disable})


def held_elsewhere(d: Delivery, owner: str, now: float) -> bool:
    """Whether another sender holds a claim on this delivery whose lease still runs."""
    return d.claimed_by is not None and d.claimed_by != owner and d.claim_until is not None and d.claim_until > now
