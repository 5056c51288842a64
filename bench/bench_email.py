"""Email digest benchmark: 10,000 subscribers' digests rendered and sent to a local SMTP server.

    .venv/bin/python bench/bench_email.py [--subscribers 10000] [--stories 3]

An SMTP server (aiosmtpd, accepting everything and counting messages) runs in a
separate process. The story events and one delivery per (subscriber, story)
are seeded into a fresh state file as a poll would commit them (timed apart);
then the mailer's round (what `watcher deliver --once` runs) claims one digest
per subscriber in one transaction and sends them all over one SMTP connection:
each rendered from Jinja2 templates (text and HTML), CSS inlined, built as a
multipart message, sent, and its outcome committed. Prints messages per second,
and the process's resident memory as the sends go (it should stay flat).
Target (issue 5): 500 messages per second or more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def serve(port_queue: multiprocessing.Queue, stats_queue: multiprocessing.Queue, stop: multiprocessing.Event) -> None:
    from aiosmtpd.controller import Controller

    class Counter:
        count = 0
        size = 0

        async def handle_DATA(self, server, session, envelope):
            Counter.count += 1
            Counter.size += len(envelope.content)
            return "250 OK"

    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = Controller(Counter(), hostname="127.0.0.1", port=port)
    controller.start()
    port_queue.put(port)
    stop.wait()
    controller.stop()
    stats_queue.put((Counter.count, Counter.size))


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--stories", type=int, default=3)
    ap.add_argument("--connections", type=int, default=2)
    args = ap.parse_args()

    from tests.conftest import write_config
    from watcher.app import open_mailer
    from watcher.config import load_config
    from watcher.deliver import mailer as mailer_mod
    from watcher.deliver.enqueue import Enqueuer
    from watcher.store.db import Database, transaction

    ports: multiprocessing.Queue = multiprocessing.Queue()
    stats: multiprocessing.Queue = multiprocessing.Queue()
    stop = multiprocessing.Event()
    proc = multiprocessing.Process(target=serve, args=(ports, stats, stop), daemon=True)
    proc.start()
    port = ports.get(timeout=30)

    tmp = Path(tempfile.mkdtemp(prefix="bench-email-"))
    subs = [{"email": f"reader{i:05d}@example.org", "schedule": "immediate"} for i in range(args.subscribers)]
    smtp = {"host": "127.0.0.1", "port": port, "security": "none", "rate": 1_000_000, "timeout": "30s",
            "connections": args.connections}
    cfg = load_config(write_config(tmp / "sources.yaml", [], {"public_url": "https://watch.example.org", "smtp": smtp},
                                   subscribers=subs), {})
    state = tmp / "st"

    t0 = time.perf_counter()
    with Database(state) as db, transaction(db.conn) as conn:
        enqueue = Enqueuer(cfg.webhooks, cfg.subscribers)
        now = time.time()
        for n in range(args.stories):
            sid = f"s-{n}"
            juris = [{"name": "Chicago", "state": "IL", "kind": "city", "fips": "1714000"}]
            conn.execute(
                "INSERT INTO stories (id, kind, title, url, score, jurisdictions, reasons, first_seen, updated, alerted, state)"
                " VALUES (?, 'ruling', ?, '', 0.9, ?, ?, ?, ?, 1, '{}')",
                (sid, f"Judge rules on Chicago sanctuary grant conditions, part {n}", json.dumps(juris),
                 json.dumps(["reads as ruling", "targets Chicago, IL"]), now, now),
            )
            for k in range(3):
                cur = conn.execute(
                    "INSERT INTO items (source, key, alt_key, url, title, summary, body, published, first_seen,"
                    " updated_at, content_hash, silent, relevant, kind, score, story_id)"
                    " VALUES ('news', ?, ?, ?, ?, ?, '', ?, ?, ?, 'h', 0, 1, 'ruling', 0.9, ?)",
                    (f"k{n}-{k}", f"a{n}-{k}", f"https://news.example/{n}/{k}", f"Report {k} on story {n}",
                     "A federal judge ruled on the conditions attached to Byrne JAG grants. " * 4, now, now, now, sid),
                )
            ev = conn.execute("INSERT INTO story_events (story_id, type, item_id, at) VALUES (?, 'story.created', ?, ?)",
                              (sid, cur.lastrowid, now))
            enqueue(conn, int(ev.lastrowid or 0), "story.created", sid, now)
    seeded = time.perf_counter() - t0
    print(f"seeded {args.stories} story events -> {args.stories * args.subscribers} deliveries in {seeded:.2f}s")

    samples: list[tuple[int, float]] = []

    async def run() -> tuple[float, float, int]:
        async with Database(state) as db, open_mailer(cfg, db, state) as mailer:
            await mailer.prepare()
            c0 = time.perf_counter()
            made, _ = await mailer.claim_due()
            claimed = time.perf_counter() - c0
            record = mailer._record

            async def sampled(d, attempt):
                await record(d, attempt)
                if mailer.sent % 1000 == 0:
                    samples.append((mailer.sent, rss_mb()))

            mailer._record = sampled  # type: ignore[method-assign]
            s0 = time.perf_counter()
            await mailer.send_due()
            return claimed, time.perf_counter() - s0, mailer.sent

    claimed, took, sent = asyncio.run(run())
    stop.set()
    received, size = stats.get(timeout=30)
    proc.join(timeout=10)
    print(f"claimed {args.subscribers} digests in one transaction in {claimed:.2f}s")
    print(f"sent {sent} digests ({received} received by the server, {size / max(received, 1) / 1024:.1f} KiB each) "
          f"in {took:.2f}s: {sent / took:.0f} messages/s (render + send + commit)")
    print("resident memory (MB) after n messages: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in samples))
    print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    _ = mailer_mod


if __name__ == "__main__":
    main()
