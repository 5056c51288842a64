"""Webhook delivery benchmark: 100 local endpoints x 1,000 story events, drained by the outbox.

    .venv/bin/python bench/bench_webhooks.py [--endpoints 100] [--events 1000] [--verify 0.01]

A receiver runs in a separate process (aiohttp, one port, one route per
endpoint) and answers 200 to every POST; it checks the Standard Webhooks
signature of a sample of requests (`--verify`, a share) with the official
`standardwebhooks` package and counts any that fail. The events and their
deliveries are seeded into a fresh state file as polls would commit them (not
timed); then `Outbox.drain_due` (what `watcher deliver --once` runs) sends them
all, in order per endpoint, every endpoint concurrently. Prints requests per
second. Target (issue 6): 1,000 requests per second or more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def serve(port_queue: multiprocessing.Queue, stats_queue: multiprocessing.Queue, verify_share: float) -> None:
    import random

    from aiohttp import web
    from standardwebhooks import Webhook

    verifier = Webhook(SECRET)
    counts: dict[str, int] = {}
    order_errors = 0
    last: dict[str, str] = {}
    bad = 0
    rnd = random.Random(1)

    async def hook(request: web.Request) -> web.Response:
        nonlocal bad, order_errors
        body = await request.read()
        name = request.match_info["name"]
        counts[name] = counts.get(name, 0) + 1
        msg_id = request.headers["webhook-id"]
        if msg_id < last.get(name, ""):  # the bench's ids grow with the event number
            order_errors += 1
        last[name] = msg_id
        if rnd.random() < verify_share:
            try:
                verifier.verify(body, dict(request.headers))
            except Exception:
                bad += 1
        return web.Response(text="ok")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"requests": sum(counts.values()), "endpoints": len(counts), "bad": bad,
                                  "order_errors": order_errors})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/hook/{name}", hook)
        app.router.add_get("/stats", stats)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


def seed(state: Path, cfg: object, n_events: int) -> int:
    from watcher.deliver.enqueue import Enqueuer
    from watcher.store.db import Database, transaction

    seq = iter(range(10**9))
    enqueue = Enqueuer(cfg.webhooks, ids=lambda: f"msg_{next(seq):09d}")  # type: ignore[attr-defined]
    total = 0
    now = time.time()
    with Database(state) as db, transaction(db.conn) as conn:
        for i in range(n_events):
            sid = f"s-{i:06d}"
            juris = json.dumps([{"name": "Denver", "state": "CO", "kind": "city", "fips": "0820000"}])
            conn.execute(
                "INSERT INTO stories (id, kind, title, url, score, jurisdictions, reasons, first_seen, updated, alerted, state)"
                " VALUES (?, 'lawsuit', ?, '', 0.9, ?, '[\"reads as lawsuit\"]', ?, ?, 1, '{}')",
                (sid, f"Justice Department sues Denver, part {i}", juris, now, now),
            )
            cur = conn.execute(
                "INSERT INTO items (source, key, alt_key, url, title, summary, body, published, first_seen, updated_at,"
                " content_hash, silent, relevant, kind, score, story_id)"
                " VALUES ('doj-press', ?, ?, ?, ?, ?, '', ?, ?, ?, 'h', 0, 1, 'lawsuit', 0.9, ?)",
                (f"k{i}", f"a{i}", f"https://www.justice.gov/opa/pr/{i}", f"Justice Department sues Denver, part {i}",
                 "The Justice Department filed a lawsuit against the City and County of Denver. " * 3, now, now, now, sid),
            )
            ev = conn.execute(
                "INSERT INTO story_events (story_id, type, item_id, at) VALUES (?, 'story.created', ?, ?)",
                (sid, cur.lastrowid, now + i * 1e-6),
            )
            total += enqueue(conn, int(ev.lastrowid or 0), "story.created", sid, now + i * 1e-6)
    return total


async def drain(cfg: object, state: Path) -> tuple[float, dict[str, int]]:
    from watcher.app import deliver_once

    t = time.perf_counter()
    summary = await deliver_once(cfg, state)  # type: ignore[arg-type]
    return time.perf_counter() - t, summary.as_dict()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", type=int, default=100)
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--verify", type=float, default=0.01, help="share of requests the receiver verifies")
    args = ap.parse_args()

    from watcher.config import parse_config

    ports: multiprocessing.Queue = multiprocessing.Queue()
    stats_q: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(ports, stats_q, args.verify), daemon=True)
    server.start()
    port = ports.get(timeout=30)
    try:
        hooks = [{"name": f"hook-{n:03d}", "url": f"http://127.0.0.1:{port}/hook/hook-{n:03d}",
                  "secret_env": "BENCH_SECRET", "allow_private": True} for n in range(args.endpoints)]
        cfg = parse_config(json.dumps({"sources": [], "webhooks": hooks}), "bench.yaml", {"BENCH_SECRET": SECRET})
        with tempfile.TemporaryDirectory() as tmp:
            state = Path(tmp) / "state"
            t = time.perf_counter()
            n = seed(state, cfg, args.events)
            print(f"seeded {n:,} deliveries ({args.endpoints} endpoints x {args.events} events) "
                  f"in {time.perf_counter() - t:.1f}s")
            took, summary = asyncio.run(drain(cfg, state))
        import urllib.request

        stats = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10).read())
        print(f"delivered {summary['webhooks_sent']:,} in {took:.2f}s: {summary['webhooks_sent'] / took:,.0f} requests/s")
        print(f"receiver: {stats['requests']:,} requests to {stats['endpoints']} endpoints, "
              f"{stats['bad']} failed verification (of a {args.verify:.0%} sample), "
              f"{stats['order_errors']} out of order; summary {summary}")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
