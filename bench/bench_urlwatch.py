"""The same 2,000 feeds as bench_poll.py, watched by urlwatch 2.29, for comparison.

    .venv/bin/python bench/bench_urlwatch.py [--feeds 2000] [--rounds 2]

urlwatch is installed on first use into its own virtualenv under bench/out/ (git-ignored),
never into the project's. It runs as shipped (10 worker threads, conditional GET with
ETags), one process per cycle as its users run it, with reports going to /dev/null.
Prints the cold cycle (empty cache) and warm cycles (5% of feeds changed between rounds).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.bench_poll import serve  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
VENV = OUT / "urlwatch-venv"


def urlwatch() -> Path:
    exe = VENV / "bin" / "urlwatch"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "urlwatch==2.29"], check=True)
    return exe


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--feeds", type=int, default=2000)
    p.add_argument("--items", type=int, default=30)
    p.add_argument("--changed", type=float, default=0.05)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    exe = urlwatch()
    work = OUT / "urlwatch-run"
    work.mkdir(parents=True, exist_ok=True)
    for f in ("cache.db", "urls.yaml", "urlwatch.yaml"):
        (work / f).unlink(missing_ok=True)
    q: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(q, args.feeds, args.items), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{q.get(timeout=30)}"
    (work / "urls.yaml").write_text(
        "\n---\n".join(f"name: feed-{i}\nurl: {base}/feed/{i}.xml" for i in range(args.feeds)) + "\n"
    )
    cmd = [str(exe), "--urls", str(work / "urls.yaml"), "--config", str(work / "urlwatch.yaml"), "--cache", str(work / "cache.db")]
    subprocess.run([*cmd, "--list"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # writes its default config

    def cycle() -> float:
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return time.perf_counter() - t

    print(f"urlwatch 2.29: feeds={args.feeds} items/feed={args.items} changed/round={args.changed:.0%}")
    print(f"urlwatch cold cycle: {cycle():.2f} s")
    rng = random.Random(7)
    for r in range(args.rounds):
        chosen = rng.sample(range(args.feeds), int(args.feeds * args.changed))
        urllib.request.urlopen(urllib.request.Request(f"{base}/mutate", data=json.dumps(chosen).encode()))
        print(f"urlwatch warm cycle {r + 1}: {cycle():.3f} s")
    server.terminate()


if __name__ == "__main__":
    main()
