"""Poll-cycle benchmark: 2,000 local feeds of 30 items, served with ETags, 5% changed between rounds.

    .venv/bin/python bench/bench_poll.py [--feeds 2000] [--items 30] [--changed 0.05] [--rounds 3]

A feed server runs in a separate process (aiohttp, on 127.0.0.1). The poller runs
in this process, in-process (no CLI start-up), with politeness limits lifted for
localhost. Prints: the cold cycle (empty state: every item parsed, classified and
stored), then warm cycles (5% of feeds gain one item; the rest answer 304), and
the peak resident memory of this process. Targets (issue 2): warm < 1 s, cold < 5 s,
memory < 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = int(time.time())
WORDS = (
    "department announces grant program county sheriff court ruling federal officials city council state "
    "agency report policy enforcement release community health safety funding public education transit water "
    "housing budget hearing vote statement investigation charges sentenced fraud scheme district attorney"
).split()


def feed_xml(i: int, generation: int, n_items: int) -> bytes:
    rnd = random.Random(i)
    items = []
    for k in range(generation, generation + n_items):
        title = " ".join(rnd.choice(WORDS) for _ in range(8)).capitalize()
        summary = " ".join(rnd.choice(WORDS) for _ in range(40))
        ts = time.gmtime(NOW - (n_items - k) * 3600)
        items.append(
            f"<item><title>{title} {i}-{k}</title><link>https://feeds.example/{i}/{k}</link>"
            f"<guid isPermaLink=\"false\">feed-{i}-item-{k}</guid>"
            f"<pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S +0000', ts)}</pubDate>"
            f"<description>{summary}.</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {i}</title><link>https://feeds.example/{i}</link><description>bench</description>"
        + "".join(reversed(items))
        + "</channel></rss>"
    ).encode()


def serve(port_queue: multiprocessing.Queue, n_feeds: int, n_items: int) -> None:
    from aiohttp import web

    generation = [0] * n_feeds
    cache: dict[int, tuple[bytes, str]] = {}

    def body(i: int) -> tuple[bytes, str]:
        if i not in cache:
            b = feed_xml(i, generation[i], n_items)
            cache[i] = (b, '"' + hashlib.md5(b).hexdigest() + '"')
        return cache[i]

    async def feed(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        b, tag = body(i)
        if request.headers.get("If-None-Match") == tag:
            return web.Response(status=304, headers={"ETag": tag})
        return web.Response(body=b, headers={"ETag": tag, "Content-Type": "application/rss+xml"})

    async def mutate(request: web.Request) -> web.Response:
        chosen = json.loads(await request.read())
        for i in chosen:
            generation[i] += 1
            cache.pop(i, None)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/feed/{i}.xml", feed)
    app.router.add_post("/mutate", mutate)

    async def main() -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(args: argparse.Namespace) -> None:
    import httpx

    from watcher.app import open_pipeline
    from watcher.config import parse_config

    q: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(q, args.feeds, args.items), daemon=True)
    server.start()
    port = q.get(timeout=30)
    base = f"http://127.0.0.1:{port}"
    sources = [{"name": f"feed-{i}", "kind": "feed", "url": f"{base}/feed/{i}.xml", "every": "10m"} for i in range(args.feeds)]
    doc = {
        "settings": {"fetch": {"concurrency": args.concurrency, "per_host": args.concurrency, "host_spacing": "0s"}},
        "sources": sources,
    }
    config = parse_config(json.dumps(doc), "bench.yaml", {})
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as state:
        print(f"feeds={args.feeds} items/feed={args.items} changed/round={args.changed:.0%} concurrency={args.concurrency}")
        async with open_pipeline(config, state) as poller:
            t = time.perf_counter()
            s = await poller.poll_all()
            cold = time.perf_counter() - t
            c = s.counts
            print(f"cold cycle: {cold:.2f} s  (fetched={c['fetched']} failed={c['failed']} stored={c['baseline']} items)  rss={rss_mb():.0f} MB")
            for r in range(args.rounds):
                chosen = rng.sample(range(args.feeds), int(args.feeds * args.changed))
                async with httpx.AsyncClient() as client:
                    await client.post(f"{base}/mutate", content=json.dumps(chosen))
                t = time.perf_counter()
                s = await poller.poll_all()
                warm = time.perf_counter() - t
                c = s.counts
                print(
                    f"warm cycle {r + 1}: {warm:.3f} s  (not_modified={c['not_modified']} fetched={c['fetched']} "
                    f"new_items={c['new_items']} failed={c['failed']})  rss={rss_mb():.0f} MB"
                )
    print(f"peak rss: {rss_mb():.0f} MB")
    server.terminate()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--changed", type=float, default=0.05)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=64)
    args = p.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
