"""Classifier speed: the four figures the daemon depends on, each the best of several runs, on one core.

    .venv/bin/python bench/bench_classify.py [--quick]

1. title+summary items/s on the mixed load: the dev corpus and the real DOJ
   negatives (title + first 80 words of the body), repeated;
2. items/s on items with no signal word (the DOJ negatives the lexicon's
   pre-check finds nothing in, and synthetic routine government-press items):
   the daemon's cold poll classifies ~60,000 mostly irrelevant feed items;
3. ms for a 20,000-word body with signal words (the EO corpus texts that speak
   of sanctuary, EO 13768 among them) and for one without (routine press text).

Not a test: prints figures. Data come from the shared folder next to the repo
(<repo>/../shared).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from watcher.classify import classify
from watcher.classify.rules import lexicon

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEV = SHARED / "corpus" / "dev.jsonl"
DOJ = SHARED / "samples" / "doj_api_negatives.jsonl"
EOS = SHARED / "samples" / "eo_corpus_subset.jsonl"


def _jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def mixed_items() -> list[tuple[str, str]]:
    items = [(d["title"], d["summary"]) for d in _jsonl(DEV)]
    items += [(d["title"], " ".join(d.get("body", "").split()[:80])) for d in _jsonl(DOJ)]
    return items


_AGENCIES = ["Department of Agriculture", "Department of Energy", "Environmental Protection Agency",
             "Department of Transportation", "Small Business Administration", "Department of Education",
             "National Park Service", "Department of Veterans Affairs", "Federal Aviation Administration",
             "Department of Commerce", "Internal Revenue Service", "Census Bureau"]
_ACTIONS = ["announced", "awarded", "released", "proposed", "finalized", "published", "launched", "extended"]
_OBJECTS = ["grants for rural broadband", "a rule on water quality standards", "funding for bridge repairs",
            "guidance for small business lenders", "a report on energy prices", "new safety standards for airports",
            "a program for veterans' health care", "loans for farmers affected by drought",
            "updated statistics on household income", "a plan to modernize the power grid",
            "an initiative to expand trail access", "a public comment period on tax forms"]
_PLACES = ["Ohio", "Kansas", "Oregon", "Georgia", "Maine", "Arizona", "Iowa", "Nevada", "Vermont", "Utah"]
_TAILS = ["The awards support projects in {n} communities.", "Comments are due within {n} days.",
          "Officials said the work would create about {n} jobs.", "The program will run for {n} months.",
          "A public meeting is scheduled in {place} next month.", "The agency received {n} applications.",
          "Applicants in {place} may submit proposals online.", "The total cost is estimated at ${n} million."]


def press_items(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """Synthetic routine government-press items (title + 2-4 sentence summary) with no signal word."""
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        agency, action, obj = rng.choice(_AGENCIES), rng.choice(_ACTIONS), rng.choice(_OBJECTS)
        title = f"{agency} {action} {obj}"
        sentences = [f"The {agency} {action} {obj} on {rng.choice(['Monday', 'Tuesday', 'Friday'])}."]
        sentences += [rng.choice(_TAILS).format(n=rng.randint(2, 900), place=rng.choice(_PLACES))
                      for _ in range(rng.randint(1, 3))]
        out.append((title, " ".join(sentences)))
    return out


def _precheck():
    pre = lexicon().precheck
    return getattr(pre, "regex", pre)


def no_signal_items() -> list[tuple[str, str]]:
    """The DOJ negatives with no signal word, and synthetic press items, checked with the lexicon's pre-check."""
    precheck = _precheck()
    doj = [(t, s) for t, s in mixed_items()[-len(_jsonl(DOJ)):]]
    items = doj + press_items(600)
    return [(t, s) for t, s in items if not precheck.search(f"{t}\n{s}".lower())]


def bodies() -> tuple[str, str]:
    eos = _jsonl(EOS)
    words = " ".join(e["body"] for e in eos if "sanctuar" in e["body"].lower()).split()
    signal = " ".join((words * (20000 // len(words) + 1))[:20000])
    plain_words = " ".join(f"{t}. {s}" for t, s in press_items(2000, seed=11)).split()
    plain = " ".join((plain_words * (20000 // len(plain_words) + 1))[:20000])
    assert not _precheck().search(plain.lower())
    return signal, plain


def best_of(runs: int, fn: Callable[[], None]) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _run_all(items: list[tuple[str, str]]) -> Callable[[], None]:
    def run() -> None:
        for title, summary in items:
            classify(title, summary)
    return run


def main() -> None:
    quick = "--quick" in sys.argv
    if hasattr(os, "sched_setaffinity"):  # one core
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    classify("Sanctuary city ordinance", "The council limited cooperation with ICE.")  # load the data files once

    items = mixed_items()
    batch = items * ((3000 if quick else 10000) // len(items) + 1)
    dt = best_of(3, _run_all(batch))
    print(f"1. title+summary (dev corpus + DOJ negatives, {len(items)} distinct): "
          f"{len(batch) / dt:,.0f} items/s  (best of 3 runs of {len(batch)})")

    quiet = no_signal_items()
    qbatch = quiet * ((20000 if quick else 60000) // len(quiet) + 1)
    dt = best_of(3, _run_all(qbatch))
    print(f"2. no-signal items ({len(quiet)} distinct: DOJ negatives + synthetic press): "
          f"{len(qbatch) / dt:,.0f} items/s  (60,000 take {60000 * dt / len(qbatch):.2f} s; best of 3)")

    signal, plain = bodies()
    for label, body in (("with signal words (EO texts)", signal), ("without signal words", plain)):
        dt = best_of(7, lambda body=body: classify("Executive order", "", body))
        print(f"3. 20,000-word body {label}, {len(body):,} chars: {dt * 1000:.1f} ms  (best of 7)")


if __name__ == "__main__":
    main()
