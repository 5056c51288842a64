"""Wires the pieces together and owns start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from watcher.config import Config, SmtpSettings
from watcher.deliver.enqueue import Enqueuer
from watcher.deliver.lease import mail_lease, webhook_lease
from watcher.deliver.mailer import Mailer
from watcher.deliver.outbox import DeliverSummary, Outbox
from watcher.deliver.policy import RetryPolicy
from watcher.deliver.sender import WebhookChannel, WebhookSender
from watcher.fetch import Fetcher
from watcher.metrics import LatencyHistogram
from watcher.poll import Classifier, Poller, PollSummary
from watcher.sources.base import SourceOptions
from watcher.store.db import Database
from watcher.story_desk import StoryDesk

if TYPE_CHECKING:
    from watcher.web_pages import Site

log = logging.getLogger("watcher.app")


@contextlib.asynccontextmanager
async def open_pipeline(
    config: Config,
    state_dir: Path | str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    classify: Classifier | None = None,
    clock: Callable[[], float] = time.time,
    bell: Callable[[], None] | None = None,
) -> AsyncIterator[Poller]:
    """The database, the shared HTTP client and the poller, closed in reverse order.

    Story events create their deliveries in the poll's transaction; `bell` is rung
    when a poll added some (the daemon's outbox wakes on it)."""
    async with Database(state_dir) as db:
        async with Fetcher(config.settings.fetch, config.settings.user_agent, transport=transport) as fetcher:
            desk = StoryDesk(config.sources, alerts=Enqueuer(config.webhooks, config.subscribers, bell=bell))
            yield Poller(config, db, fetcher, classify=classify, story_hook=desk, clock=clock)


async def poll_once(config: Config, state_dir: Path | str, names: Sequence[str] | None = None, **kw: object) -> PollSummary:
    async with open_pipeline(config, state_dir, **kw) as poller:  # type: ignore[arg-type]
        return await poller.poll_all(names)


def retry_policy(config: Config) -> RetryPolicy:
    w = config.settings.webhooks
    return RetryPolicy(schedule=w.retry, jitter=w.jitter, disable_after=w.disable_after)


@contextlib.asynccontextmanager
async def open_outbox(
    config: Config,
    db: Database,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    bell: asyncio.Event | None = None,
    tick: float = 10.0,
) -> AsyncIterator[Outbox]:
    """The outbox worker over its channels (webhooks; email later), with their shared HTTP client."""
    async with WebhookSender(config.settings.webhooks, config.settings.user_agent, transport=transport) as sender:
        channel = WebhookChannel(config.webhooks, config.secrets, sender)
        endpoints = [(h.name, h.url) for h in config.webhooks if h.enabled]
        yield Outbox(db, [channel], retry_policy(config), endpoints=endpoints,
                     configured=[h.name for h in config.webhooks],
                     lease_for=webhook_lease(config.settings.webhooks), bell=bell, tick=tick)


DEFAULT_SENDER = "Sanctuary Watch <alerts@localhost>"


def templates_dir(config: Config) -> Path | None:
    """The operator's template directory (relative to the config file), if there is one."""
    t = config.settings.templates
    return None if t is None else Path(config.path).parent / t


@contextlib.asynccontextmanager
async def open_mailer(
    config: Config,
    db: Database,
    state_dir: Path | str,
    *,
    bell: asyncio.Event | None = None,
    tick: float = 60.0,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[Mailer]:
    """The email side of the outbox: SMTP when configured, else .eml files in state/outbox/."""
    from watcher.deliver.postman import EmlPostman, Postman, SmtpPostman
    from watcher.deliver.render import Renderer

    smtp = config.settings.smtp
    postman: Callable[[], Postman]
    if smtp is None:
        folder = Path(state_dir) / "outbox"
        postman = lambda: EmlPostman(folder)  # noqa: E731
    else:
        user = config.secrets.get(smtp.username_env) if smtp.username_env else None
        password = config.secrets.get(smtp.password_env) if smtp.password_env else None
        postman = lambda: SmtpPostman(smtp, user, password)  # noqa: E731
    retry = smtp.retry if smtp is not None else SmtpSettings.model_fields["retry"].default
    mailer = Mailer(
        db, config.subscribers, postman, Renderer(templates_dir(config)),
        sender=smtp.sender if smtp is not None else DEFAULT_SENDER,
        public_url=config.settings.public_url,
        default_zone=config.settings.timezone,
        policy=RetryPolicy(schedule=retry, jitter=0.2),
        bounce_limit=smtp.bounce_limit if smtp is not None else 3,
        connections=smtp.connections if smtp is not None else 1,
        lease_for=mail_lease(smtp),
        bell=bell, tick=tick, clock=clock,
    )
    yield mailer


async def deliver_once(config: Config, state_dir: Path | str, **kw: object) -> DeliverSummary:
    async with Database(state_dir) as db:
        async with open_mailer(config, db, state_dir) as mailer:
            await mailer.drain_due()
        async with open_outbox(config, db, **kw) as outbox:  # type: ignore[arg-type]
            summary = await outbox.drain_due()
        summary.sent["email"] = mailer.sent
        summary.failed += mailer.failed
        return summary


class Daemon:
    """`watcher run`: one job per source at its interval, until told to stop."""

    def __init__(self, config: Config, poller: Poller, *, outbox: Outbox | None = None, mailer: Mailer | None = None,
                 shutdown_timeout: float = 10.0):
        self.config = config
        self.poller = poller
        self.outbox = outbox
        self.mailer = mailer
        self.shutdown_timeout = shutdown_timeout
        self._in_flight: set[asyncio.Task[object]] = set()
        self.stopping = asyncio.Event()
        self.started = asyncio.Event()  # set once every poll job is scheduled (/readyz)
        self.latency = LatencyHistogram()  # poll durations for /metrics, for the life of the process

    async def _scheduled_poll(self, source: SourceOptions) -> None:
        if self.stopping.is_set():
            return
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            state = (await self.poller.states())[source.name]
            if state.next_attempt_at and state.next_attempt_at > self.poller.clock():
                log.info("backing off", extra={"source": source.name, "until": round(state.next_attempt_at)})
                return
            await self.poller.poll(source)
            latency = (await self.poller.states())[source.name].last_latency
            if latency is not None:
                self.latency.observe(source.name, latency)
        finally:
            self._in_flight.discard(task)

    async def run(self) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler
        from apscheduler.triggers.interval import IntervalTrigger

        scheduler = AsyncIOScheduler(timezone=timezone.utc)
        start = datetime.now(timezone.utc)
        enabled = [s for s in self.config.sources if s.enabled]
        for i, source in enumerate(enabled):
            scheduler.add_job(
                self._scheduled_poll,
                IntervalTrigger(seconds=source.every, jitter=min(source.every * 0.1, 60.0)),
                args=[source],
                id=f"poll:{source.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(source.every)),
                next_run_time=start + timedelta(seconds=min(5.0, 0.05 * i)),  # a gentle stagger at start
            )
        outbox = asyncio.create_task(self.outbox.run(self.stopping)) if self.outbox is not None else None
        if outbox is not None:
            outbox.add_done_callback(_report_outbox_end)
        mail = asyncio.create_task(self.mailer.run(self.stopping)) if self.mailer is not None else None
        if mail is not None:
            mail.add_done_callback(_report_outbox_end)
        scheduler.start()
        self.started.set()
        log.info("started", extra={"sources": len(enabled)})
        try:
            await self.stopping.wait()
        finally:
            self.stopping.set()  # also when cancelled: the outbox's workers stop taking new work
            scheduler.shutdown(wait=False)
            deadline = asyncio.get_running_loop().time() + self.shutdown_timeout
            await self._drain(deadline)
            for task in (outbox, mail):
                if task is not None:
                    await self._stop_outbox(task, deadline)
            log.info("stopped")

    async def _drain(self, deadline: float) -> None:
        """Let polls in flight finish within the bound; cancel what is left."""
        pending = [t for t in self._in_flight if not t.done()]
        if not pending:
            return
        done, late = await asyncio.wait(pending, timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
        for t in late:
            t.cancel()
        if late:
            await asyncio.wait(late, timeout=2.0)
            log.warning("cancelled polls still running at shutdown", extra={"count": len(late)})

    async def _stop_outbox(self, task: asyncio.Task[None], deadline: float) -> None:
        """Sends in flight finish within what is left of the bound; then they are cancelled (and
        made again after restart, with the same webhook-id)."""
        remaining = max(0.5, deadline - asyncio.get_running_loop().time())
        done, late = await asyncio.wait({task}, timeout=remaining)
        if late:
            task.cancel()
            await asyncio.wait({task}, timeout=2.0)
            log.warning("cancelled deliveries in flight at shutdown")

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)


def _report_outbox_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("outbox stopped by an error; deliveries wait for a restart", exc_info=task.exception())


def public_site(config: Config, db: Database, daemon: Daemon) -> Site:
    """What the web face's public pages read: the store through read-only connections, and the daemon's state."""
    from watcher.deliver.render import Renderer
    from watcher.store.views import Reader
    from watcher.web_pages import Site

    secrets = tuple(part for value in config.secrets.values() for part in (value, *value.split()) if part)
    return Site(
        reader=Reader(db.reader),
        templates=Renderer(templates_dir(config)).env,
        public_url=config.settings.public_url,
        ready=lambda: daemon.started.is_set() and not daemon.stopping.is_set(),
        latency=daemon.latency,
        secrets=secrets,
        started_at=time.time(),
        sources=frozenset(s.name for s in config.sources),
    )


async def run_daemon(
    config: Config,
    state_dir: Path | str,
    *,
    shutdown_timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
    on_start: Callable[[Daemon], None] | None = None,
) -> None:
    """`watcher run`. `transport` replaces the network for polls (the demo replays recordings through it);
    `on_start` is called with the daemon once it is about to run (the demo schedules its own stop)."""
    from watcher import web
    from watcher.deliver.render import Renderer
    from watcher.deliver.unsubscribe import UnsubscribeDesk

    bell, mail_bell = asyncio.Event(), asyncio.Event()

    def ring() -> None:  # a poll committed deliveries: wake the webhook workers and the mailer
        bell.set()
        mail_bell.set()

    async with open_pipeline(config, state_dir, bell=ring, transport=transport) as poller:
        async with open_outbox(config, poller.db, bell=bell) as outbox, \
                open_mailer(config, poller.db, state_dir, bell=mail_bell) as mailer:
            await mailer.prepare()
            daemon = Daemon(config, poller, outbox=outbox, mailer=mailer, shutdown_timeout=shutdown_timeout)
            app = web.build_app(UnsubscribeDesk(poller.db, mailer.key), Renderer(templates_dir(config)),
                                public_site(config, poller.db, daemon))
            async with web.serve(app, config.settings.listen):
                daemon.install_signal_handlers()
                if on_start is not None:
                    on_start(daemon)
                await daemon.run()
