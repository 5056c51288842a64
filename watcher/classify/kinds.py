"""Kind: the main new action an item reports, decided by weighted cues (rules 1 and 2).

Cues found in the title weigh most, then the lead sentence, then the rest of the
summary. A decisive cue names an instrument (a ruling, a filed suit, an order, a
law, a letter): when one is present the kind is chosen among instrument kinds,
so a threat delivered by letter is a letter and an order cutting funds is policy.
"""

from __future__ import annotations

import re

from watcher.classify.matcher import word_starts
from watcher.classify.rules import lexicon

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def zones(title: str, summary: str, body: str) -> list[tuple[str, str]]:
    text = summary or body[:1500]
    parts = _SENTENCE_END.split(text.strip(), maxsplit=1) if text else []
    out = [("title", title)]
    if parts:
        out.append(("lead", parts[0]))
    if len(parts) > 1:
        out.append(("rest", parts[1]))
    if summary and body:
        out.append(("body", body[:3000]))
    return out


def decide(title: str, summary: str, body: str = "", head_starts: set[str] | None = None) -> tuple[str, dict[str, float]]:
    """The kind, and the score of each. `head_starts`: `word_starts` of the lower-cased ASCII
    `f"{title}\\n{summary}"`, when the caller has it (a superset of each title/summary zone's)."""
    lex = lexicon()
    scores: dict[str, float] = {k: 0.0 for k in lex.priority}
    decisive: dict[str, float] = {}
    for zone, text in zones(title, summary, body):
        factor = lex.zones[zone]
        lowered = text.lower()
        starts = head_starts if head_starts is not None and summary and zone != "body" else word_starts(lowered)
        hits = lex.cue_set.matching(text, lowered, starts)
        for i, cue in enumerate(lex.cues):
            if i in hits:
                scores[cue.kind] += cue.weight * factor
                if cue.decisive and zone != "body":
                    decisive[cue.kind] = decisive.get(cue.kind, 0.0) + cue.weight * factor
    rank = {k: i for i, k in enumerate(lex.priority)}
    live = {k: scores[k] for k in decisive if scores[k] > 0}
    pool = live or {k: v for k, v in scores.items() if v > 0}
    if not pool:
        return lex.default_kind, scores
    best = max(pool, key=lambda k: (pool[k], -rank[k]))
    if best == "statement" and not live:
        threats = {k: v for k, v in pool.items() if k != "statement" and v > 0}
        strongest = max(threats, key=lambda k: (threats[k], -rank[k]), default=None)
        if strongest and pool["statement"] < lex.statement_margin * threats[strongest]:
            best = strongest
    return best, scores
