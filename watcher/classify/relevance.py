"""Relevance: strong signals, weak signals and false friends weighed together into a score."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from watcher.classify.rules import Feature, lexicon

# Around each signal word of a long body, this much text either side is read.
_WINDOW = 400


@dataclass(frozen=True)
class Relevance:
    score: float
    total: float
    reasons: tuple[str, ...]


def evidence_windows(body: str, precheck: re.Pattern[str], limit: int = 60) -> str:
    """The parts of a long body around its signal words, joined: what the rules read of it."""
    if len(body) <= 4 * _WINDOW:
        return body
    spans: list[list[int]] = []
    for m in precheck.finditer(body.lower()):
        lo, hi = max(0, m.start() - _WINDOW), min(len(body), m.end() + _WINDOW)
        if spans and lo <= spans[-1][1]:
            spans[-1][1] = hi
        else:
            if len(spans) >= limit:
                break
            spans.append([lo, hi])
    return " … ".join(body[lo:hi] for lo, hi in spans)


def _apply(features: tuple[Feature, ...], text: str, factor: float, seen: dict[str, float]) -> None:
    lowered = text.lower()
    for f in features:
        if abs(seen.get(f.id, 0.0)) < abs(f.weight * factor) and f.regex.search(text, lowered):
            seen[f.id] = f.weight * factor


def weigh(head: str, body_windows: str) -> Relevance:
    """Score title+summary (`head`) fully and the body's evidence windows at a discount."""
    lex = lexicon()
    found: dict[str, float] = {}
    _apply(lex.signals, head, 1.0, found)
    _apply(lex.false_friends, head, 1.0, found)
    if body_windows:
        _apply(lex.signals, body_windows, lex.body_factor, found)
        _apply(lex.false_friends, body_windows, lex.body_factor, found)
    total = sum(found.values())
    score = 1.0 / (1.0 + math.exp(-lex.steepness * (total - lex.threshold)))
    by_id = {f.id: f for f in (*lex.signals, *lex.false_friends)}
    ordered = sorted(found.items(), key=lambda kv: -abs(kv[1]))
    reasons = tuple(
        by_id[i].reason if w > 0 else f"but: {by_id[i].reason}" for i, w in ordered if abs(w) >= 0.5
    )
    return Relevance(score, total, reasons)
