"""How well stories match the labelled events: pairwise precision, recall and F1.

Over every pair of gold-relevant items: a pair is *gold* when both carry the same
`event` key and *predicted* when both got the same story. Precision is the share
of predicted pairs that are gold, recall the share of gold pairs that were
predicted. Items that are not gold-relevant take no part; a gold-relevant item
given no story (None) pairs with nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from watcher.domain import Jurisdiction, Verdict


@dataclass(frozen=True)
class PairCounts:
    gold: int
    predicted: int
    both: int

    @property
    def precision(self) -> float:
        return self.both / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.both / self.gold if self.gold else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pair_counts(gold_events: Sequence[str | None], predicted: Sequence[str | None]) -> PairCounts:
    if len(gold_events) != len(predicted):
        raise ValueError("gold_events and predicted differ in length")
    members = [i for i, g in enumerate(gold_events) if g is not None]
    gold = pred = both = 0
    for i, j in combinations(members, 2):
        g = gold_events[i] == gold_events[j]
        p = predicted[i] is not None and predicted[i] == predicted[j]
        gold += g
        pred += p
        both += g and p
    return PairCounts(gold, pred, both)


def pairwise_scores(gold_events: Sequence[str | None], predicted: Sequence[str | None]) -> tuple[float, float, float]:
    """(precision, recall, F1) of predicted stories against gold event keys."""
    c = pair_counts(gold_events, predicted)
    return c.precision, c.recall, c.f1


def gold_events_of(records: Sequence[Mapping[str, Any]]) -> list[str | None]:
    """The gold event key of each corpus record (None for records not relevant)."""
    return [r["gold"]["event"] if r["gold"]["relevant"] else None for r in records]


def story_report(
    gold: Sequence[str | None] | Sequence[Mapping[str, Any]],
    predicted: Sequence[str | None],
    ids: Sequence[str] | None = None,
    titles: Sequence[str] | None = None,
) -> str:
    """A readable report: the scores, then each split event and each mixed story.

    `gold` is the gold event keys, or the corpus records themselves (then their
    ids and titles name the items).
    """
    if gold and isinstance(gold[0], Mapping):
        records = gold
        gold_events = gold_events_of(records)  # type: ignore[arg-type]
        ids = ids if ids is not None else [str(r.get("id")) for r in records]  # type: ignore[union-attr]
        titles = titles if titles is not None else [str(r.get("title", "")) for r in records]  # type: ignore[union-attr]
    else:
        gold_events = list(gold)  # type: ignore[arg-type]
    c = pair_counts(gold_events, predicted)
    ids = list(ids) if ids is not None else [str(i) for i in range(len(gold_events))]
    names = [f"{ids[i]} {titles[i][:70]!r}" if titles else ids[i] for i in range(len(ids))]
    lines = [
        (
            f"story pairwise: precision {c.precision:.3f}  recall {c.recall:.3f}  F1 {c.f1:.3f}"
            f"  (gold pairs {c.gold}, predicted {c.predicted}, correct {c.both})"
        )
    ]
    by_event: dict[str, list[int]] = defaultdict(list)
    by_story: dict[str, list[int]] = defaultdict(list)
    for i, (g, p) in enumerate(zip(gold_events, predicted)):
        if g is not None:
            by_event[g].append(i)
            if p is not None:
                by_story[p].append(i)
    split = {e: m for e, m in by_event.items() if len({predicted[i] for i in m}) > 1}
    mixed = {s: m for s, m in by_story.items() if len({gold_events[i] for i in m}) > 1}
    lines.append(
        f"events {len(by_event)}, stories {len(by_story)}; split events {len(split)}, mixed stories {len(mixed)}"
    )
    for e, m in sorted(split.items()):
        lines.append(f"  split {e}:")
        lines.extend(f"      {predicted[i]}  {names[i]}" for i in m)
    for s, m in sorted(mixed.items()):
        lines.append(f"  mixed {s}:")
        lines.extend(f"      {gold_events[i]}  {names[i]}" for i in m)
    return "\n".join(lines)


def gold_verdict(record: Mapping[str, Any]) -> Verdict:
    """A Verdict built from a corpus record's gold labels (fips left empty)."""
    gold = record["gold"]
    return Verdict(
        relevant=bool(gold["relevant"]),
        kind=gold.get("kind"),
        score=1.0 if gold["relevant"] else 0.0,
        jurisdictions=tuple(
            Jurisdiction(name=j["name"], state=j.get("state", ""), kind=j.get("kind", ""), fips=j.get("fips", ""))
            for j in gold.get("jurisdictions", ())
        ),
    )
