"""Classifier speed: title+summary items per second, and one 20,000-word body.

    .venv/bin/python bench/bench_classify.py

Not a test: prints figures. Uses the dev corpus and the real DOJ negatives,
repeated, as the title+summary load.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from watcher.classify import classify

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
for candidate in (SHARED, Path("/work/shared")):
    if (candidate / "corpus" / "dev.jsonl").exists():
        SHARED = candidate
        break


def load() -> list[tuple[str, str]]:
    items = []
    for line in (SHARED / "corpus" / "dev.jsonl").open(encoding="utf-8"):
        d = json.loads(line)
        items.append((d["title"], d["summary"]))
    for line in (SHARED / "samples" / "doj_api_negatives.jsonl").open(encoding="utf-8"):
        d = json.loads(line)
        items.append((d["title"], " ".join(d.get("body", "").split()[:80])))
    return items


def main() -> None:
    items = load()
    classify(*items[0])  # load the data files once
    batch = items * (20000 // len(items) + 1)
    t = time.perf_counter()
    for title, summary in batch:
        classify(title, summary)
    dt = time.perf_counter() - t
    print(f"title+summary: {len(batch)} items in {dt:.3f} s = {len(batch) / dt:,.0f} items/s")

    no_signal = [(t, s) for t, s in batch if not re.search(r"(?i)sanctuar|immigra|ICE", t + s)]
    t = time.perf_counter()
    for title, summary in no_signal:
        classify(title, summary)
    dt = time.perf_counter() - t
    print(f"no-signal items: {len(no_signal)} in {dt:.3f} s = {len(no_signal) / dt:,.0f} items/s"
          f" (60,000 would take {60000 * dt / len(no_signal):.2f} s)")

    eos = [json.loads(line) for line in (SHARED / "samples" / "eo_corpus_subset.jsonl").open(encoding="utf-8")]
    words = " ".join(e["body"] for e in eos if "sanctuar" in e["body"].lower()).split()
    body = " ".join((words * (20000 // len(words) + 1))[:20000])
    best = min(_time(lambda: classify("Executive order", "", body)) for _ in range(5))
    print(f"20,000-word body ({len(body):,} chars, relevant-ish text): {best * 1000:.1f} ms")
    plain = " ".join((("The agency announced new rules for the program. " * 3000).split())[:20000])
    best = min(_time(lambda: classify("Notice", "", plain)) for _ in range(5))
    print(f"20,000-word body with no signal: {best * 1000:.1f} ms")


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
