"""Kind: the main new action an item reports, decided by weighted cues (rules 1 and 2).

Cues found in the title weigh most, then the lead sentence, then the rest of the
summary. A decisive cue names an instrument (a ruling, a filed suit, an order, a
law, a letter): when one is present the kind is chosen among instrument kinds,
so a threat delivered by letter is a letter and an order cutting funds is policy.

Before any cue, the item's own form is read (`form`): an item that is itself an
executive order or proclamation is policy, and a court document (from a court
publisher, under a case caption, or with a docket line) is a ruling unless it is
a filed complaint or appeal that decides nothing. The publisher type (`source`)
is evidence for the form only: court publishers publish court documents, and the
White House and the Federal Register publish orders in their own words.
"""

from __future__ import annotations

import re

from watcher.classify.matcher import word_starts
from watcher.classify.rules import lexicon

# How much of the summary and of the body is read for the item's form (its opening).
_OPENING = 600

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


def form(title: str, summary: str, body: str = "", source: str = "", head_starts: set[str] | None = None) -> str | None:
    """The kind the item's own form decides (rule 2), or None: "ruling" or "lawsuit" for a
    court document, "policy" for an executive order or proclamation. `head_starts`: as for `decide`."""
    f = lexicon().forms
    opening = f"{summary[:_OPENING]}\n{body[:_OPENING]}" if body else summary[:_OPENING]
    lowered_title, lowered = title.lower(), opening.lower()
    # the title, and an opening that is the whole summary, are parts of the head that cut no word
    starts = head_starts if not body and len(summary) <= _OPENING else None
    if (
        source in f.court_publishers
        or f.court_caption.test(title, lowered_title, head_starts)
        or f.court_docket.test(opening, lowered, starts)
    ):
        text = f"{title}\n{opening}"
        lowered_text = text.lower()
        if f.court_filing.test(text, lowered_text, starts) and not f.court_disposition.test(text, lowered_text, starts):
            return "lawsuit"
        return "ruling"
    if (
        f.instrument_title.test(title, lowered_title, head_starts)
        or f.instrument_text.test(opening, lowered, starts)
        or (source in f.instrument_publishers and f.instrument_publisher_text.test(opening, lowered, starts))
    ):
        return "policy"
    return None


def _weigh_sentences(
    text: str, factor: float, scores: dict[str, float], decisive: dict[str, float], starts: set[str] | None = None
) -> None:
    """Add a zone's cues sentence by sentence: a sentence that dates what it tells as older
    than the news is background, weighed at `background_factor` and never decisive. `starts`:
    `word_starts` of a lower-cased text holding the zone, when the caller has them (sentences
    begin and end where words do)."""
    lex = lexicon()
    for sentence in _SENTENCE_END.split(text):
        lowered = sentence.lower()
        background = lex.background.test(sentence, lowered, starts)
        weight = factor * lex.background_factor if background else factor
        hits = lex.cue_set.matching(sentence, lowered, word_starts(lowered) if starts is None else starts)
        for i in sorted(hits):  # in the cues' order, as they were added before
            cue = lex.cues[i]
            scores[cue.kind] += cue.weight * weight
            if cue.decisive and not background:
                decisive[cue.kind] = decisive.get(cue.kind, 0.0) + cue.weight * weight


def decide(
    title: str, summary: str, body: str = "", head_starts: set[str] | None = None, source: str = ""
) -> tuple[str, dict[str, float]]:
    """The kind, and the score of each. `head_starts`: `word_starts` of the lower-cased ASCII
    `f"{title}\\n{summary}"`, when the caller has it (a superset of each title/summary zone's).
    `source`: the publisher type ("court", "whitehouse", ...; "" when unknown)."""
    lex = lexicon()
    decided = form(title, summary, body, source, head_starts)
    if decided is not None:
        return decided, {k: float(k == decided) for k in lex.priority}
    scores: dict[str, float] = {k: 0.0 for k in lex.priority}
    decisive: dict[str, float] = {}
    shared = head_starts is not None and bool(summary)
    # the title and summary zones are parts of the head: the cues' gates are tested on it once
    survivors = lex.cue_set.survivors(f"{title}\n{summary}".lower(), head_starts) if shared else None  # type: ignore[arg-type]
    for zone, text in zones(title, summary, body):
        factor = lex.zones[zone]
        lowered = text.lower()
        in_head = shared and zone != "body"
        starts = head_starts if in_head else word_starts(lowered)
        hits = lex.cue_set.matching(text, lowered, starts, survivors if in_head else None)  # type: ignore[arg-type]
        if (
            zone in ("lead", "rest")
            and any(lex.cues[i].decisive for i in hits)
            and lex.background.test(text, lowered, starts if in_head else None)
        ):
            _weigh_sentences(text, factor, scores, decisive, starts if in_head else None)  # some is background (rule 1)
            continue
        for i in sorted(hits):  # in the cues' order: the sums added in the same order
            cue = lex.cues[i]
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
