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

import httpx

from watcher.config import Config
from watcher.deliver.enqueue import Enqueuer
from watcher.deliver.outbox import DeliverSummary, Outbox
from watcher.deliver.policy import RetryPolicy
from watcher.deliver.sender import WebhookChannel, WebhookSender
from watcher.fetch import Fetcher
from watcher.poll import Classifier, Poller, PollSummary
from watcher.sources.base import SourceOptions
from watcher.store.db import Database
from watcher.story_desk import StoryDesk

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
            desk = StoryDesk(config.sources, alerts=Enqueuer(config.webhooks, bell=bell))
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
        yield Outbox(db, [channel], retry_policy(config), endpoints=endpoints, bell=bell, tick=tick)


async def deliver_once(config: Config, state_dir: Path | str, **kw: object) -> DeliverSummary:
    async with Database(state_dir) as db:
        async with open_outbox(config, db, **kw) as outbox:  # type: ignore[arg-type]
            return await outbox.drain_due()


class Daemon:
    """`watcher run`: one job per source at its interval, until told to stop."""

    def __init__(self, config: Config, poller: Poller, *, outbox: Outbox | None = None, shutdown_timeout: float = 10.0):
        self.config = config
        self.poller = poller
        self.outbox = outbox
        self.shutdown_timeout = shutdown_timeout
        self._in_flight: set[asyncio.Task[object]] = set()
        self.stopping = asyncio.Event()

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
        scheduler.start()
        log.info("started", extra={"sources": len(enabled)})
        try:
            await self.stopping.wait()
        finally:
            self.stopping.set()  # also when cancelled: the outbox's workers stop taking new work
            scheduler.shutdown(wait=False)
            deadline = asyncio.get_running_loop().time() + self.shutdown_timeout
            await self._drain(deadline)
            if outbox is not None:
                await self._stop_outbox(outbox, deadline)
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


async def run_daemon(config: Config, state_dir: Path | str, *, shutdown_timeout: float = 10.0) -> None:
    bell = asyncio.Event()
    async with open_pipeline(config, state_dir, bell=bell.set) as poller:
        async with open_outbox(config, poller.db, bell=bell) as outbox:
            daemon = Daemon(config, poller, outbox=outbox, shutdown_timeout=shutdown_timeout)
            daemon.install_signal_handlers()
            await daemon.run()
