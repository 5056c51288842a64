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
from watcher.fetch import Fetcher
from watcher.poll import Classifier, Poller, PollSummary
from watcher.sources.base import SourceOptions
from watcher.story_desk import StoryDesk
from watcher.store.db import Database

log = logging.getLogger("watcher.app")


@contextlib.asynccontextmanager
async def open_pipeline(
    config: Config,
    state_dir: Path | str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    classify: Classifier | None = None,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[Poller]:
    """The database, the shared HTTP client and the poller, closed in reverse order."""
    async with Database(state_dir) as db:
        async with Fetcher(config.settings.fetch, config.settings.user_agent, transport=transport) as fetcher:
            desk = StoryDesk(config.sources)
            yield Poller(config, db, fetcher, classify=classify, story_hook=desk, clock=clock)


async def poll_once(config: Config, state_dir: Path | str, names: Sequence[str] | None = None, **kw: object) -> PollSummary:
    async with open_pipeline(config, state_dir, **kw) as poller:  # type: ignore[arg-type]
        return await poller.poll_all(names)


class Daemon:
    """`watcher run`: one job per source at its interval, until told to stop."""

    def __init__(self, config: Config, poller: Poller, *, shutdown_timeout: float = 10.0):
        self.config = config
        self.poller = poller
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
        scheduler.start()
        log.info("started", extra={"sources": len(enabled)})
        try:
            await self.stopping.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self._drain()
            log.info("stopped")

    async def _drain(self) -> None:
        """Let polls in flight finish within the bound; cancel what is left."""
        pending = [t for t in self._in_flight if not t.done()]
        if not pending:
            return
        done, late = await asyncio.wait(pending, timeout=self.shutdown_timeout)
        for t in late:
            t.cancel()
        if late:
            await asyncio.wait(late, timeout=2.0)
            log.warning("cancelled polls still running at shutdown", extra={"count": len(late)})

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)


async def run_daemon(config: Config, state_dir: Path | str, *, shutdown_timeout: float = 10.0) -> None:
    async with open_pipeline(config, state_dir) as poller:
        daemon = Daemon(config, poller, shutdown_timeout=shutdown_timeout)
        daemon.install_signal_handlers()
        await daemon.run()
