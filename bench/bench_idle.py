"""Idle footprint of the daemon: `watcher run` over 500 sources, measured between polls.

    .venv/bin/python bench/bench_idle.py [--sources 500] [--items 30] [--idle 30]

A feed server runs in another process (the one of bench_poll.py: aiohttp on 127.0.0.1,
ETags). `watcher run` is started as a subprocess with every source on `every: 5m`, so
each is polled once at start (a silent baseline) and then the daemon idles. Once the
first round is done (one "polled" log event per source), the daemon's resident memory
(/proc/PID/status VmRSS) and CPU time (/proc/PID/stat utime + stime) are sampled every
second for `--idle` seconds. Then SIGTERM, timed. Targets (issue 7): < 150 MB resident,
near-zero CPU between polls, exit 0 within 10 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from bench_poll import serve  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=500)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--idle", type=float, default=30.0, help="seconds of idle to sample")
    args = ap.parse_args()

    q: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(q, args.sources, args.items), daemon=True)
    server.start()
    port = q.get(timeout=10)

    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "sources.yaml"
        cfg.write_text(json.dumps({
            "settings": {"listen": "127.0.0.1:0",
                         "fetch": {"host_spacing": "0s", "per_host": 64, "concurrency": 64}},
            "sources": [{"name": f"feed-{i}", "kind": "feed", "url": f"http://127.0.0.1:{port}/feed/{i}.xml",
                         "every": "5m"} for i in range(args.sources)],
        }))
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
        cmd = [sys.executable, "-m", "watcher", "--config", str(cfg), "--state", str(Path(tmp) / "state"),
               "--log-format", "json", "run"]
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        polled, failed = set(), set()
        first_round = threading.Event()

        def read() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("event") == "polled":
                    polled.add(ev.get("source"))
                elif ev.get("event") == "poll failed":
                    failed.add(ev.get("source"))
                if len(polled | failed) >= args.sources:
                    first_round.set()

        threading.Thread(target=read, daemon=True).start()
        try:
            if not first_round.wait(300):
                sys.exit(f"first round not done after 300 s: {len(polled)} polled, {len(failed)} failed")
            round_s = time.monotonic() - t0
            after_round = rss_mb(proc.pid)
            time.sleep(2.0)  # let the last commits and the outbox settle
            cpu0, w0 = cpu_seconds(proc.pid), time.monotonic()
            samples = []
            while time.monotonic() - w0 < args.idle:
                time.sleep(1.0)
                samples.append(rss_mb(proc.pid))
            cpu1, w1 = cpu_seconds(proc.pid), time.monotonic()
            hwm = rss_mb(proc.pid, "VmHWM")
            proc.send_signal(signal.SIGTERM)
            ts = time.monotonic()
            code = proc.wait(timeout=30)
            stop_s = time.monotonic() - ts
        finally:
            if proc.poll() is None:
                proc.kill()
            server.terminate()

    print(f"sources: {args.sources} ({len(polled)} polled, {len(failed)} failed), {args.items} items each")
    print(f"first round (start-up included): {round_s:.1f} s; RSS after it: {after_round:.1f} MB")
    print(f"idle {w1 - w0:.0f} s: peak RSS {max(samples):.1f} MB (target < 150), "
          f"CPU {100 * (cpu1 - cpu0) / (w1 - w0):.2f}% of one core ({cpu1 - cpu0:.2f} s)")
    print(f"peak RSS over the whole run (VmHWM, first round included): {hwm:.1f} MB")
    print(f"SIGTERM: exit {code} in {stop_s:.2f} s")


if __name__ == "__main__":
    main()
