"""Measuring the classifier against labeled items (the corpus format of shared/corpus/README.md).

    report = evaluate(load_jsonl("dev.jsonl"))  # each record's "source" is passed to the classifier
    print(format_report(report))

Relevance precision/recall/F1, kind accuracy on gold-relevant items, and
jurisdiction micro precision/recall/F1 matched by (name, state) over items; the
same for borderline items on their own, and every error listed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from watcher.classify import classify
from watcher.domain import Verdict

ClassifyFn = Callable[..., Verdict]


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Scores:
    items: int = 0
    relevance: Tally = field(default_factory=Tally)
    kind_right: int = 0
    kind_total: int = 0
    places: Tally = field(default_factory=Tally)

    @property
    def kind_accuracy(self) -> float:
        return self.kind_right / self.kind_total if self.kind_total else 1.0


@dataclass
class Report:
    overall: Scores
    clear: Scores  # items not flagged borderline
    borderline: Scores
    errors: list[str]


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _score(s: Scores, gold: dict[str, Any], v: Verdict) -> list[str]:
    problems: list[str] = []
    s.items += 1
    g_rel = bool(gold["relevant"])
    if g_rel and v.relevant:
        s.relevance.tp += 1
    elif v.relevant:
        s.relevance.fp += 1
        problems.append(f"false positive (score {v.score:.2f})")
    elif g_rel:
        s.relevance.fn += 1
        problems.append(f"missed (score {v.score:.2f})")
    if g_rel:
        s.kind_total += 1
        if v.kind == gold["kind"]:
            s.kind_right += 1
        elif v.relevant:
            problems.append(f"kind {v.kind} != {gold['kind']}")
    want = {(j["name"], j["state"]) for j in gold.get("jurisdictions") or []}
    got = {(j.name, j.state) for j in v.jurisdictions}
    s.places.tp += len(want & got)
    s.places.fp += len(got - want)
    s.places.fn += len(want - got)
    if got - want:
        problems.append("extra " + "; ".join(f"{n},{st}" for n, st in sorted(got - want)))
    if want - got:
        problems.append("missing " + "; ".join(f"{n},{st}" for n, st in sorted(want - got)))
    return problems


def evaluate(records: Iterable[dict[str, Any]], classify_fn: ClassifyFn = classify) -> Report:
    report = Report(Scores(), Scores(), Scores(), [])
    for r in records:
        v = classify_fn(r.get("title", ""), r.get("summary", "") or "", r.get("body", "") or "", source=r.get("source", "") or "")
        gold = r["gold"]
        problems = _score(report.overall, gold, v)
        _score(report.borderline if gold.get("borderline") else report.clear, gold, v)
        if problems:
            flag = " [borderline]" if gold.get("borderline") else ""
            report.errors.append(f"{r.get('id', '?')}{flag}: {r.get('title', '')[:90]!r}: " + " | ".join(problems))
    return report


def _block(name: str, s: Scores) -> list[str]:
    r, p = s.relevance, s.places
    return [
        f"{name} ({s.items} items)",
        f"  relevance     P {r.precision:.3f}  R {r.recall:.3f}  F1 {r.f1:.3f}   (tp {r.tp}, fp {r.fp}, fn {r.fn})",
        f"  kind accuracy {s.kind_accuracy:.3f}   ({s.kind_right}/{s.kind_total} gold-relevant items)",
        f"  jurisdictions P {p.precision:.3f}  R {p.recall:.3f}  F1 {p.f1:.3f}   (tp {p.tp}, fp {p.fp}, fn {p.fn})",
    ]


def format_report(report: Report) -> str:
    lines = _block("all items", report.overall)
    lines += _block("not borderline", report.clear)
    lines += _block("borderline", report.borderline)
    lines.append(f"errors ({len(report.errors)})")
    lines += [f"  {e}" for e in report.errors]
    return "\n".join(lines)


def flag_executive_orders(path: str | Path, classify_fn: ClassifyFn = classify) -> list[dict[str, Any]]:
    """Classify executive orders in the sample format (id, title, body, relevant_to_sanctuary_jurisdictions)."""
    rows = []
    for r in load_jsonl(path):
        v = classify_fn(r.get("title", ""), "", r.get("body", ""))
        rows.append({"id": r["id"], "title": r.get("title", ""), "relevant": v.relevant, "score": round(v.score, 3),
                     "gold": r.get("relevant_to_sanctuary_jurisdictions")})
    return rows


def format_executive_orders(rows: list[dict[str, Any]]) -> str:
    flagged = [r for r in rows if r["relevant"]]
    wrong = [r for r in rows if r["gold"] is not None and r["relevant"] != r["gold"]]
    lines = [f"{len(rows)} executive orders, {len(flagged)} flagged relevant, {len(wrong)} disagree with the label"]
    lines += [f"  flagged {r['id']}: {r['title'][:80]} (score {r['score']})" for r in flagged]
    lines += [f"  WRONG {r['id']}: {r['title'][:80]} (relevant={r['relevant']}, gold={r['gold']})" for r in wrong]
    return "\n".join(lines)


# The shared folder next to the repository: <repo>/../shared
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DEV = SHARED / "corpus" / "dev.jsonl"
EOS = SHARED / "samples" / "eo_corpus_subset.jsonl"


if __name__ == "__main__":  # python -m watcher.classify.evaluate [FILE] [--eo]  (default: the dev corpus; EO subset)
    import sys

    args = [a for a in sys.argv[1:] if a != "--eo"]
    if "--eo" in sys.argv[1:]:
        print(format_executive_orders(flag_executive_orders(args[0] if args else EOS)))
    else:
        print(format_report(evaluate(load_jsonl(args[0] if args else DEV))))
