"""Benchmark: add 1,000 items to a story index holding 100,000 stories.

    .venv/bin/python bench/bench_stories.py [--stories 100000] [--items 1000] [--seed 1] [--repeat 3]

The stories are synthetic but shaped like real ones: nine kinds, dates spread
over five years, one to six jurisdictions drawn from every state (counties and
places from the classifier's gazetteer when it is present), signatures of
40-80 tokens from a Zipf-distributed vocabulary, a few references. The index is
built with `StoryIndex.load` (as the daemon does at start-up); then 1,000 items
arrive, about half of them new reports of existing stories and half new events,
and the time of the 1,000 `assign` calls is printed (best and median of a few
runs, each on a freshly loaded index).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from watcher.domain import KINDS, Jurisdiction, Verdict
from watcher.stories import StoryIndex, StoryInput, StoryState, story_id_for

GAZETTEER = Path(__file__).resolve().parent.parent / "watcher" / "classify" / "data" / "gazetteer.csv"
START = datetime(2021, 1, 1, tzinfo=UTC)
SPAN_DAYS = 5 * 365
SOURCES = ("doj", "ice", "dhs", "court", "news", "news", "news", "whitehouse", "state")


def places(rng: random.Random) -> list[Jurisdiction]:
    out: list[Jurisdiction] = []
    if GAZETTEER.exists():
        with GAZETTEER.open(newline="") as fh:
            for row in csv.DictReader(fh):
                out.append(Jurisdiction(row["name"], row["state"], row["kind"], row["fips"]))
    if not out:  # synthetic: 51 states, 40 counties and 40 places each
        for s in range(1, 52):
            out.append(Jurisdiction(f"State {s}", f"S{s}", "state", f"{s:02d}"))
            out += [Jurisdiction(f"County {s}-{c}", f"S{s}", "county", f"{s:02d}{c:03d}") for c in range(40)]
            out += [Jurisdiction(f"Place {s}-{p}", f"S{s}", "city", f"{s:02d}{p:05d}") for p in range(40)]
    rng.shuffle(out)
    return out


def zipf_vocabulary(size: int = 20000) -> tuple[list[str], list[float]]:
    def word(n: int) -> str:  # letters only, so the tokenizer keeps each word whole
        out = ""
        for _ in range(4):
            n, r = divmod(n, 26)
            out += "bcdfghjklmnpqrstvwxzaeiouy"[r]
        return "q" + out

    words = [word(n) for n in range(size)]
    return words, list(itertools.accumulate(1.0 / (n + 30) for n in range(size)))


def synthetic_story(
    n: int, rng: random.Random, gaz: list[Jurisdiction], vocab: tuple[list[str], list[float]]
) -> StoryState:
    when = START + timedelta(minutes=rng.randrange(SPAN_DAYS * 24 * 60))
    end = when + timedelta(hours=rng.choice((0, 0, 2, 6, 20, 40)))
    tokens = set(rng.choices(vocab[0], cum_weights=vocab[1], k=rng.randint(40, 80)))
    item_ids = tuple(f"item-{n}-{k}" for k in range(rng.randint(1, 5)))
    return StoryState(
        id=story_id_for(item_ids[0]),
        kind=rng.choice(KINDS),
        title=f"Synthetic story {n}",
        title_rank=rng.randint(0, 2),
        title_url=f"https://example.org/{n}",
        jurisdictions=tuple(rng.sample(gaz, rng.choice((0, 1, 1, 2, 3, 6)))),
        start=when,
        end=end,
        first_seen=when,
        updated=end,
        item_ids=item_ids,
        sources=("news",),
        signature=tuple((t, round(rng.uniform(0.25, 3.0), 4)) for t in sorted(tokens)),
        refs=frozenset({f"eo:{rng.randint(10000, 99999)}"} if rng.random() < 0.2 else ()),
    )


def new_items(
    count: int,
    rng: random.Random,
    stories: list[StoryState],
    gaz: list[Jurisdiction],
    vocab: tuple[list[str], list[float]],
) -> list[StoryInput]:
    out = []
    for n in range(count):
        if rng.random() < 0.5:  # another report of an existing story
            s = rng.choice(stories)
            words = [t for t, _ in s.signature]
            text = " ".join(rng.sample(words, min(len(words), 30)) + rng.choices(vocab[0], cum_weights=vocab[1], k=15))
            verdict = Verdict(True, s.kind, 0.9, s.jurisdictions[:2])
            when = s.start + timedelta(hours=rng.uniform(-6, 30))
        else:  # a new event
            text = " ".join(rng.choices(vocab[0], cum_weights=vocab[1], k=45))
            verdict = Verdict(True, rng.choice(KINDS), 0.9, tuple(rng.sample(gaz, rng.choice((0, 1, 2, 3)))))
            when = START + timedelta(minutes=rng.randrange(SPAN_DAYS * 24 * 60))
        out.append(
            StoryInput(f"new-{n}", rng.choice(SOURCES), text[:80], text, f"https://example.org/new/{n}", when, verdict)
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stories", type=int, default=100_000)
    ap.add_argument("--items", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    gaz, vocab = places(rng), zipf_vocabulary()

    t = time.perf_counter()
    stories = [synthetic_story(n, rng, gaz, vocab) for n in range(args.stories)]
    items = new_items(args.items, rng, stories, gaz, vocab)
    made = time.perf_counter() - t

    timings, loaded = [], 0.0
    for _ in range(args.repeat):  # each run starts from a freshly loaded index
        t = time.perf_counter()
        index = StoryIndex.load(stories)
        loaded = time.perf_counter() - t
        candidates = sum(len(index.candidates(x.verdict.kind or "unknown", x.published)) for x in items) / len(items)
        t = time.perf_counter()
        results = [index.assign(x) for x in items]
        timings.append(time.perf_counter() - t)

    took = min(timings)
    joined = sum(not r.created for r in results)
    print(f"synthetic data: {made:.2f}s; load {len(stories):,} stories: {loaded:.2f}s")
    print(
        f"assign {len(items):,} items into {len(stories):,} stories: best {took:.3f}s, "
        f"median {statistics.median(timings):.3f}s of {len(timings)} runs "
        f"({took / len(items) * 1e6:.0f} us per item, {candidates:.1f} same-kind candidates per item; "
        f"{joined} joined a story, {len(items) - joined} started one)"
    )


if __name__ == "__main__":
    main()
