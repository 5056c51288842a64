"""The email side of the outbox: digests built when subscribers are due, then sent.

A round has two steps, each committed before the next:
1. **Claim.** For every configured, active subscriber with deliveries waiting
   and no unsent digest, the schedule gives a cutoff (`schedule.last_due`);
   the deliveries made up to it are claimed into a new digest, in one
   transaction. Nothing waiting, or nothing before the cutoff: no digest.
2. **Send.** Each due digest (new, or failed and due again) is rendered from
   its stories as they stand, handed to the postman, and its outcome written:
   sent, failed with a wait (temporary), or dead (refused for good; a refused
   recipient is a bounce, and `bounce_limit` bounces in a row make the
   subscriber `bouncing`). One connection serves the batch.

Before each attempt the digest is claimed (`store.mail.claim_digest`, a lease:
deliver/lease.py), so the daemon and `watcher deliver --once` on one state file
never both send it; on start, claims of senders that died are released.

A crash after (1) leaves a pending digest that is sent after restart with the
same id, hence the same Message-ID. A crash after the server took the message
but before its outcome was written sends it again: the one at-least-once gap.

The daemon runs `Mailer.run`: a round when a poll commits deliveries (the same
bell that wakes the webhook workers), when the next subscriber's schedule or
the next retry comes due, and at least every `tick` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from email.message import Message

from watcher.config import Subscriber
from watcher.deliver import digest as digests
from watcher.deliver import lease, message, tokens
from watcher.deliver.policy import RetryPolicy, wait_before
from watcher.deliver.postman import MailAttempt, Postman
from watcher.deliver.render import Bodies, Renderer
from watcher.deliver.schedule import last_due, next_due, utc, zone
from watcher.domain import DeliveryStatus, Digest, Story
from watcher.store import mail as sql
from watcher.store.db import Database
from watcher.store.outbox import ClaimLost, load_story

log = logging.getLogger("watcher.mail")

BATCH = 200  # digests read at a time


@dataclass
class _Round:
    """What one `send_due` shares across its workers."""

    cache: dict[str, Story]  # stories as loaded this round
    bodies: Bodies  # digests rendered this round, reused for the same content


def new_digest_id() -> str:
    return "dg_" + secrets.token_hex(12)


class Mailer:
    def __init__(
        self,
        db: Database,
        subscribers: Sequence[Subscriber],
        postman: Callable[[], Postman],
        renderer: Renderer,
        *,
        sender: str,
        public_url: str,
        default_zone: str,
        policy: RetryPolicy,
        bounce_limit: int = 3,
        connections: int = 1,
        lease_for: float = 60.0,  # seconds a claim holds: longer than any attempt (lease.mail_lease)
        owner: str = lease.OWNER,
        bell: asyncio.Event | None = None,
        tick: float = 60.0,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        ids: Callable[[], str] = new_digest_id,
        make_key: Callable[[], bytes] = lambda: secrets.token_bytes(32),
    ):
        self.db = db
        self.subscribers: Mapping[str, Subscriber] = {s.email.lower(): s for s in subscribers}
        self.postman = postman  # makes one postman (one SMTP connection) per sending worker
        self.connections = connections
        self.lease_for = lease_for
        self.owner = owner
        self.renderer = renderer
        self.sender = sender
        self.public_url = public_url
        self.default_zone = default_zone
        self.policy = policy
        self.bounce_limit = bounce_limit
        self.bell = bell or asyncio.Event()
        self.tick = tick
        self.clock, self.rng, self.ids, self.make_key = clock, rng, ids, make_key
        self.sent = 0  # digests sent by this mailer
        self.failed = 0  # attempts that failed
        self._key: bytes | None = None

    async def prepare(self) -> None:
        now = self.clock()
        await self.db.write(sql.sync_subscribers, list(self.subscribers), now)
        n, senders = await lease.release_dead(self.db, sql.claimants, sql.release, self.owner)
        if senders:
            log.warning("released the claims of senders that died mid-send; sending again",
                        extra={"digests": n, "senders": senders})
        self._key = await self.db.write(sql.server_secret, "unsubscribe", self.make_key, now)

    @property
    def key(self) -> bytes:
        if self._key is None:
            raise RuntimeError("Mailer.prepare() first")
        return self._key

    def _zone(self, sub: Subscriber):
        return zone(sub.timezone or self.default_zone)

    # --- claim ---------------------------------------------------------------

    async def claim_due(self) -> tuple[list[str], float | None]:
        """Build the digests that are due now. Returns them, and when the next one falls due."""
        now = self.clock()
        waiting = await self.db.run(sql.pending_targets)
        inactive = await self.db.run(sql.inactive)
        busy = await self.db.run(sql.unsent_subscribers)
        due: list[tuple[str, str, float]] = []
        wake: float | None = None
        for email, oldest in waiting.items():
            sub = self.subscribers.get(email)
            if sub is None or email in inactive or email in busy:
                continue
            tz = self._zone(sub)
            cutoff = last_due(sub.schedule, tz, utc(now)).timestamp()
            if oldest <= cutoff:
                due.append((email, self.ids(), cutoff))
            else:
                at = next_due(sub.schedule, tz, utc(now))
                if at is not None:
                    wake = at.timestamp() if wake is None else min(wake, at.timestamp())
        made = await self.db.write(sql.claim, due, now) if due else []
        if made:
            log.info("digests built", extra={"digests": len(made)})
        return made, wake

    # --- compose -------------------------------------------------------------

    def _parts(self, stories: Sequence[tuple[Story, bool]], sub: Subscriber, digest_id: str, made: float,
               bodies: Bodies | None) -> tuple[message.Envelope, str, str]:
        local = utc(made).astimezone(self._zone(sub))
        token = tokens.make(self.key, sub.email)
        prefix, in_url = message.unsubscribe_prefix(self.public_url), message.token_in_url(token)
        if bodies is None:
            view = digests.build(stories, sub.filter, local)
            text, html = self.renderer.digest(view, prefix + in_url)
        else:  # what the view is made of: the stories (each new or an update), the filter, the local day
            key = (tuple(stories), sub.filter, local.date())
            view, text, html = bodies.get(key, lambda: digests.build(stories, sub.filter, local), prefix, in_url)
        env = message.Envelope(
            sender=self.sender, to=sub.email, subject=view.subject, digest_id=digest_id, made=utc(made),
            unsubscribe_url=prefix + in_url, unsubscribe_mailto=message.unsubscribe_mailto(self.sender, token),
        )
        return env, text, html

    def compose(self, stories: Sequence[tuple[Story, bool]], sub: Subscriber, digest_id: str, made: float) -> Message:
        """The message of one digest: pure, given its stories (each with whether it is an update)."""
        return message.build(*self._parts(stories, sub, digest_id, made, None), self.public_url)

    def message_bytes(self, stories: Sequence[tuple[Story, bool]], sub: Subscriber, digest_id: str, made: float,
                      bodies: Bodies | None = None) -> bytes:
        """The same message as `compose`, as it goes on the wire; `bodies` reuses renders across subscribers."""
        return message.build_bytes(*self._parts(stories, sub, digest_id, made, bodies), self.public_url)

    async def stories_of(self, email: str, story_ids: Sequence[str], cache: dict[str, Story]) -> list[tuple[Story, bool]]:
        mailed = await self.db.run(sql.mailed, email, story_ids)
        out = []
        for sid in story_ids:
            if sid not in cache:
                cache[sid] = await self.db.run(load_story, sid)
            out.append((cache[sid], sid in mailed))
        return out

    async def preview(self, email: str) -> Message | None:
        """What this subscriber would get if everything waiting for them went out now (None: nothing)."""
        email = email.strip().lower()
        sub = self.subscribers.get(email)
        if sub is None:
            raise LookupError(f"no subscriber {email!r} in the config")
        story_ids = await self.db.run(sql.unclaimed_stories, email)
        if not story_ids:
            return None
        return self.compose(await self.stories_of(email, story_ids, {}), sub, "preview", self.clock())

    # --- send ----------------------------------------------------------------

    async def send_due(self, stopping: asyncio.Event | None = None) -> float | None:
        """Send every digest due now, over `connections` connections, each reused for its share.
        Returns when the next retry is due (None: none waiting)."""
        work = _Round(cache={}, bodies=Bodies(self.renderer))
        postmen = [self.postman() for _ in range(self.connections)]
        try:
            while not (stopping is not None and stopping.is_set()):
                batch = await self.db.run(sql.due_digests, self.clock(), BATCH)
                if not batch:
                    break
                todo = iter(batch)  # shared by the workers: each takes the next digest when it is free
                await asyncio.gather(*(self._worker(p, todo, work, stopping) for p in postmen))
        finally:
            for p in postmen:
                await p.aclose()
        return await self.db.run(sql.next_digest_at)

    async def _worker(self, postman: Postman, todo: Iterator[Digest], work: _Round,
                      stopping: asyncio.Event | None) -> None:
        for d in todo:
            if stopping is not None and stopping.is_set():
                return
            await self._send_one(postman, d, work)

    async def _send_one(self, postman: Postman, queued: Digest, work: _Round) -> None:
        now = self.clock()
        d = await self.db.write(sql.claim_digest, queued.id, self.owner, now, now + self.lease_for)
        if d is None:
            return  # sent, claimed or rescheduled by another sender since it was read
        sub = self.subscribers.get(d.subscriber)
        state = await self.db.run(sql.get_subscription, d.subscriber)
        if sub is None or (state is not None and state.unsubscribed_at is not None):
            removed = (sql.REMOVED, DeliveryStatus.CANCELLED) if sub is None else ("unsubscribed", DeliveryStatus.DEAD)
            with contextlib.suppress(ClaimLost):  # another sender has it now, and will see the same
                await self.db.write(sql.drop, d, removed[0], self.clock(), self.owner, removed[1])
            return
        try:
            stories = await self.stories_of(d.subscriber, await self.db.run(sql.contents, d.id), work.cache)
            data = self.message_bytes(stories, sub, d.id, d.created_at, work.bodies)
        except Exception as e:
            log.exception("digest could not be built", extra={"digest": d.id})
            attempt = MailAttempt(False, error=f"could not build the message: {type(e).__name__}: {e}")
        else:
            attempt = await postman.send(d.id, data, message.sender_address(self.sender), sub.email)
        await self._record(d, attempt)

    async def _record(self, d: Digest, attempt: MailAttempt) -> None:
        now = self.clock()
        next_at: float | None = None
        if attempt.ok:
            status = DeliveryStatus.SENT
        elif attempt.permanent:
            status = DeliveryStatus.DEAD
        else:
            wait = wait_before(d.attempts + 1, self.policy, self.rng())
            status = DeliveryStatus.DEAD if wait is None else DeliveryStatus.FAILED
            next_at = None if wait is None else now + wait
        try:
            state = await self.db.write(sql.record, d, status, next_at, attempt.error, attempt.code, attempt.bounced,
                                        self.bounce_limit, now, self.owner)
        except ClaimLost:
            log.warning("attempt outlived its claim; another sender took the digest over", extra={"digest": d.id})
            return
        extra = {"digest": d.id, "to": d.subscriber, "error": attempt.error}
        if status is DeliveryStatus.SENT:
            self.sent += 1
            log.debug("digest sent", extra={"digest": d.id, "to": d.subscriber})
            return
        self.failed += 1
        if status is DeliveryStatus.FAILED:
            log.warning("digest not sent; will retry", extra={**extra, "next_in": round((next_at or now) - now, 1)})
        else:
            log.error("digest dead: refused for good or retries exhausted", extra=extra)
        if attempt.bounced and state is not None and state.bouncing:
            log.error("subscriber bouncing: sent nothing more until a digest of theirs gets through",
                      extra={"to": d.subscriber, "bounces": state.bounces})

    # --- rounds --------------------------------------------------------------

    async def round(self, stopping: asyncio.Event | None = None) -> float | None:
        """Claim what is due, send what is due; returns when to look again (epoch seconds, or None)."""
        _, wake = await self.claim_due()
        retry_at = await self.send_due(stopping)
        times = [t for t in (wake, retry_at) if t is not None]
        return min(times) if times else None

    async def drain_due(self) -> None:
        await self.prepare()
        await self.round()

    async def run(self, stopping: asyncio.Event) -> None:
        await self.prepare()
        log.info("mailer started", extra={"subscribers": len(self.subscribers)})
        while not stopping.is_set():
            self.bell.clear()
            try:
                at = await self.round(stopping)
            except Exception:
                log.exception("mail round failed")
                at = None
            timeout = self.tick if at is None else min(max(at - self.clock(), 0.05), self.tick)
            ring = asyncio.ensure_future(self.bell.wait())
            stop = asyncio.ensure_future(stopping.wait())
            try:
                await asyncio.wait({ring, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for f in (ring, stop):
                    f.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(ring, stop, return_exceptions=True)
        log.info("mailer stopped")
