"""Relevance: strong signals, weak signals and false friends weighed together into a score."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from watcher.classify.matcher import word_starts
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


def opens(body: str, summary: str) -> bool:
    """Whether `summary` is only the opening of `body` (a feed's truncated excerpt), not a summary of its own."""
    words = summary.rstrip(" .…").split()[:12]
    return bool(body) and bool(words) and body.split()[: len(words)] == words


def _apply(features: tuple[Feature, ...], hits: set[int], offset: int, factor: float, seen: dict[str, float]) -> None:
    """Add the weight of each feature that matched (its index + offset in `hits`), once, the strongest kept."""
    end = offset + len(features)
    for i in sorted(hits):  # in the features' order: only those that matched can add
        if offset <= i < end:
            f = features[i - offset]
            if abs(seen.get(f.id, 0.0)) < abs(f.weight * factor):
                seen[f.id] = f.weight * factor


def _hits(text: str, lowered: str | None = None, starts: set[str] | None = None) -> set[int]:
    lowered = text.lower() if lowered is None else lowered
    return lexicon().features.matching(text, lowered, word_starts(lowered) if starts is None else starts)


def weigh(
    head: str, body_windows: str, lowered: str | None = None, starts: set[str] | None = None, summary: bool = False
) -> Relevance:
    """Score title+summary (`head`) fully and the body's evidence windows at a discount.

    `lowered`, `starts`: `head.lower()` and its `word_starts`, when the caller has them.
    `summary`: the head holds a summary of its own (not the body's opening). An item is about what its title and summary say: when they
    hold no signal of their own (less than `head_support`), a body that speaks of sanctuary policies
    in passing (an article on another topic that recalls them) counts only at `unsupported_body_factor`.
    """
    lex = lexicon()
    found: dict[str, float] = {}
    hits = _hits(head, lowered, starts)
    _apply(lex.signals, hits, 0, 1.0, found)
    _apply(lex.false_friends, hits, len(lex.signals), 1.0, found)
    if body_windows:
        factor = lex.body_factor
        if summary and sum(found.values()) < lex.head_support:
            factor = lex.unsupported_body_factor
        hits = _hits(body_windows)
        _apply(lex.signals, hits, 0, factor, found)
        _apply(lex.false_friends, hits, len(lex.signals), factor, found)
    total = sum(found.values())
    score = 1.0 / (1.0 + math.exp(-lex.steepness * (total - lex.threshold)))
    by_id = lex.feature_by_id
    ordered = sorted(found.items(), key=lambda kv: -abs(kv[1]))
    reasons = tuple(
        by_id[i].reason if w > 0 else f"but: {by_id[i].reason}" for i, w in ordered if abs(w) >= 0.5
    )
    return Relevance(score, total, reasons)
