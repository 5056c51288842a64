"""Every benchmark, one after another, and one table of the figures against their targets.

    .venv/bin/python bench/run_all.py [--quick] [--skip NAME ...] [--markdown FILE]

Each benchmark runs as its own process (so one's memory never counts against another's)
and prints its own figures; this script reads them back and prints the table. Nothing is
judged here that the benchmark did not print. `--markdown FILE` also writes the table
(with the machine it ran on) for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


@dataclass
class Figure:
    issue: str
    what: str
    target: str
    pattern: str  # regex with one group: the number, found in the benchmark's output
    ok: Callable[[float], bool] | None
    unit: str
    pick: str = "first"  # first | min | max | median: when the pattern matches several lines; count: how many


@dataclass
class Bench:
    name: str
    args: list[str]
    quick_args: list[str]
    figures: list[Figure]


BENCHES = [
    Bench("bench_poll.py", [], ["--feeds", "500"], [
        Figure("2", "cold poll cycle, 2,000 feeds x 30 items (60,000 stored)", "< 5 s", r"cold cycle: ([\d.]+) s", lambda v: v < 5, "s"),
        Figure("2", "warm poll cycle, 5% changed (median of rounds)", "< 1 s", r"warm cycle \d+: ([\d.]+) s", lambda v: v < 1, "s", "median"),
        Figure("2", "poller peak memory", "< 200 MB", r"peak rss: ([\d.]+) MB", lambda v: v < 200, "MB"),
    ]),
    Bench("bench_urlwatch.py", [], ["--feeds", "500"], [
        Figure("8", "urlwatch 2.29, same feeds: cold cycle", "(compare)", r"urlwatch cold cycle: ([\d.]+) s", None, "s"),
        Figure("8", "urlwatch 2.29, same feeds: warm cycle (median)", "(compare)", r"urlwatch warm cycle \d+: ([\d.]+) s", None, "s", "median"),
    ]),
    Bench("bench_classify.py", [], ["--quick"], [
        Figure("3", "classify title+summary items", ">= 5,000/s", r"title\+summary.*?: ([\d,]+) items/s", lambda v: v >= 5000, "/s"),
        Figure("3", "classify items with no signal word", "(60,000 well under 1 s)", r"no-signal items.*?: ([\d,]+) items/s", lambda v: v >= 100_000, "/s"),
        Figure("3", "classify a 20,000-word body (with signal words)", "< 50 ms", r"with signal words.*?: ([\d.]+) ms", lambda v: v < 50, "ms"),
    ]),
    Bench("bench_stories.py", [], [], [
        Figure("4", "add 1,000 items to 100,000 stories (best)", "< 1 s", r"stories: best ([\d.]+)s", lambda v: v < 1, "s"),
    ]),
    Bench("bench_email.py", ["--connections", "4"], ["--subscribers", "2000", "--connections", "4"], [
        Figure("5", "email digests rendered and sent (4 SMTP connections)", ">= 500/s", r"([\d.]+) messages/s", lambda v: v >= 500, "/s", "max"),
        Figure("5", "email sender peak memory", "(flat)", r"peak resident memory: ([\d.]+) MB", None, "MB"),
    ]),
    Bench("bench_webhooks.py", [], ["--events", "100"], [
        Figure("6", "webhook deliveries, 100 endpoints", ">= 1,000/s", r"([\d,]+) requests/s", lambda v: v >= 1000, "/s"),
    ]),
    Bench("bench_idle.py", [], [], [
        Figure("7", "daemon with 500 sources: idle memory", "< 150 MB", r"peak RSS ([\d.]+) MB", lambda v: v < 150, "MB"),
        Figure("7", "daemon with 500 sources: idle CPU", "near zero", r"CPU ([\d.]+)% of one core", lambda v: v < 2, "% of a core"),
    ]),
    Bench("crash_loop.py", [], ["--cycles", "12"], [
        Figure("8", "SIGKILLs landed across poll and delivery cycles", ">= 50", r"kills landed (\d+)", lambda v: v >= 50, "kills"),
        Figure("8", "events or mails lost or doubled, leaks, tracebacks", "0", r"^(PROBLEM|TRACEBACK):", lambda v: v == 0,
               "problems", "count"),
    ]),
]


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _pick(values: list[float], how: str) -> float:
    if how == "min":
        return min(values)
    if how == "max":
        return max(values)
    if how == "median":
        s = sorted(values)
        return s[len(s) // 2]
    return values[0]


def machine() -> str:
    mem = ""
    try:
        kb = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, {platform.system()}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller runs (the table then says so)")
    p.add_argument("--skip", nargs="*", default=[], help="benchmarks to leave out, e.g. bench_urlwatch.py")
    p.add_argument("--markdown", help="also write the table to this file")
    args = p.parse_args()
    rows: list[tuple[Figure, str, str]] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for bench in BENCHES:
        if bench.name in args.skip or not (BENCH / bench.name).exists():
            for f in bench.figures:
                rows.append((f, "not run", ""))
            continue
        cmd = [sys.executable, str(BENCH / bench.name), *(bench.quick_args if args.quick else bench.args)]
        print(f"== {bench.name} {' '.join(cmd[2:])}", flush=True)
        t = time.perf_counter()
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        print(out.stdout.rstrip(), flush=True)
        if out.returncode != 0:
            print(out.stderr[-2000:], flush=True)
        print(f"   ({time.perf_counter() - t:.0f} s)", flush=True)
        for f in bench.figures:
            matches = re.findall(f.pattern, out.stdout, re.MULTILINE)
            if f.pick == "count" and out.returncode in (0, 1):
                matches = [str(len(matches))]
            found = [_number(m) for m in matches]
            if not found:
                rows.append((f, "no figure" if out.returncode == 0 else f"failed (exit {out.returncode})", "NO"))
                continue
            v = _pick(found, f.pick)
            verdict = "" if f.ok is None else ("yes" if f.ok(v) else "NO")
            rows.append((f, f"{v:,.3g} {f.unit}" if v < 100 else f"{v:,.0f} {f.unit}", verdict))
    header = ["issue", "figure", "target", "measured", "met"]
    table = [header, ["---"] * 5] + [[f.issue, f.what, f.target, m, v] for f, m, v in rows]
    text = "\n".join("| " + " | ".join(r) + " |" for r in table)
    note = f"Measured {started} on {machine()}{' (--quick: smaller runs)' if args.quick else ''}."
    print("\n" + note + "\n\n" + text)
    if args.markdown:
        Path(args.markdown).write_text(note + "\n\n" + text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
