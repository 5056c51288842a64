"""Classifying feed items: is it about US sanctuary jurisdictions, what kind of action, whom it targets, and why.

    from watcher.classify import classify
    verdict = classify(title, summary, body, source="court")

`source` is the publisher type when known ("doj", "ice", "dhs", "court", "whitehouse",
"federal_register", "state", "news"; "" when unknown): evidence for the kind only where the
labeling rules make the publisher decisive (a court publisher's documents are rulings unless
they are filed complaints; an order the White House or the Federal Register publishes is policy).

Pure: the lexicon (`data/lexicon.yaml`), the place rules (`data/places.yaml`) and
the gazetteer (`data/gazetteer.csv`) are read once, on first use.
"""

from __future__ import annotations

from watcher.classify import evidence, jurisdictions, kinds, relevance
from watcher.classify.matcher import word_starts
from watcher.classify.rules import lexicon
from watcher.domain import Verdict

__all__ = ["classify"]

_NOT_RELEVANT = Verdict(relevant=False, kind=None, score=0.0, reasons=("no sanctuary-jurisdiction signal",))


def classify(title: str, summary: str = "", body: str = "", *, source: str = "") -> Verdict:
    """The verdict on one item. Inputs are plain text; body may be long. `source`: the publisher type."""
    lex = lexicon()
    head = f"{title}\n{summary}" if summary else title
    lowered = head.lower()
    if not lex.precheck.matcher.test(lowered) and not (body and lex.precheck.matcher.test(body.lower())):
        return _NOT_RELEVANT
    windows = relevance.evidence_windows(body, lex.precheck.scanner) if body else ""
    starts = word_starts(lowered)  # shared by the stages that read the head
    own_summary = bool(summary) and not (body and relevance.opens(body, summary))
    rel = relevance.weigh(head, windows, lowered, starts, summary=own_summary)
    relevant = rel.score > 0.5
    text = head if summary or not body else f"{title}\n{body[:1500]}"
    ev_text = f"{text}\n{windows}" if windows else text
    if not relevant:
        return Verdict(False, None, rel.score, (), rel.reasons[:4])
    ascii_head = head.isascii()
    kind, _ = kinds.decide(title, summary, body, starts if ascii_head else None, source)
    places = jurisdictions.extract(text, (lowered, starts) if text is head and ascii_head else None)
    ev_lowered, ev_starts = (lowered, starts) if ev_text is head else (None, None)
    refs = evidence.legal_refs(ev_text, ev_lowered, ev_starts)
    funds = evidence.programs(text, *((lowered, starts) if text is head else (None, None)))
    reasons = list(rel.reasons[:5])
    reasons.insert(0, f"reads as {kind.replace('_', ' ')}")
    reasons += [f"names {r}" for r in refs[:4]]
    reasons += [f"concerns {p} funds" for p in funds]
    if places:
        reasons.append("targets " + ", ".join(f"{j.name}, {j.state}" if j.kind != "state" else j.name for j in places[:6]))
    return Verdict(
        relevant=True,
        kind=kind,
        score=rel.score,
        jurisdictions=places,
        reasons=tuple(dict.fromkeys(reasons)),
        actors=evidence.actors(ev_text, ev_lowered, ev_starts),
        legal_refs=refs,
        amounts=evidence.amounts(text),
    )
