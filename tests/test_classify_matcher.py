"""The classifier's fast matching gives exactly the answers of plain `re`, on real and awkward text."""

from __future__ import annotations

import random
import re
from pathlib import Path
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P

import pytest

from watcher.classify import kinds
from watcher.classify.evaluate import load_jsonl
from watcher.classify.jurisdictions import _official_patterns, _patterns
from watcher.classify.matcher import Finder, IndexedMatcher, Matcher, word_starts
from watcher.classify.pattern_analysis import ascii_twin, fold_probes, gates, lower_pattern, passes
from watcher.classify.rules import lexicon, place_rules

SHARED = Path(__file__).resolve().parents[1].parent / "shared"  # <repo>/../shared
DEV = SHARED / "corpus" / "dev.jsonl"
EOS = SHARED / "samples" / "eo_corpus_subset.jsonl"
DOJ = SHARED / "samples" / "doj_api_negatives.jsonl"

AWKWARD = [
    "",
    "ICE",
    "The Justice Department sued the City of Chicago over its sanctuary policy in 2025.",
    "JUSTICE DEPARTMENT SUES SANCTUARY CITIES; Mayor vows to fight ICE detainers",
    "ſanctuary İmmigration K9 unit: the Kelvin sign and the long s match under IGNORECASE",
    "Ministère — § 1373 ‘sanctuary’ “cities” Σ ΟΔΟΣ café São Paulo",
    "sanctuary\ncities\n\nICE\n",
    "8 U.S.C. § 1373 and 8 USC 1644; Executive Order 13768, E.O. 14159; SB 54, AB 450, HB 2315; 287(g)",
    "Sessions v. City of Philadelphia, the Trust Act and the California Values Act",
    "Gov. Abbott, Attorney General Paxton and Mayor Wu; Ed Lee, London Breed and Bill de Blasio of NYC",
    "ABBOTT abbott Abbottsford; Cooperation with Cooper; Lee County and Miami-Dade and Cook, Lake and Will counties",
]


def _texts() -> list[str]:
    texts = list(AWKWARD)
    if DEV.exists():
        for r in load_jsonl(DEV):
            head = f"{r['title']}\n{r['summary']}"
            texts += [r["title"], head, head.upper(), head.replace("e", "é").replace("S", "Σ")]
            texts += [z for _, z in kinds.zones(r["title"], r["summary"], "")]
    for path in (DOJ, EOS):
        if path.exists():
            texts += [r["body"][:4000] for r in load_jsonl(path)[:40]]
    return texts


TEXTS = _texts()


def test_every_rule_answers_like_its_regex():
    lex = lexicon()
    rules = [lex.precheck] + [f.regex for f in (*lex.signals, *lex.false_friends)] + [c.regex for c in lex.cues]
    for t in TEXTS:
        low = t.lower()
        starts = word_starts(low)
        for r in rules:
            want = r.regex.search(t if r.case else low) is not None
            assert r.test(t, low) == want, (r.regex.pattern, t[:80])
            assert r.test(t, low, starts) == want, (r.regex.pattern, t[:80])


def test_rule_sets_answer_like_each_rule():
    lex = lexicon()
    for rs in (lex.features, lex.cue_set):
        for t in TEXTS:
            low = t.lower()
            want = {i for i, r in enumerate(rs.rules) if r.regex.search(t if r.case else low)}
            assert rs.matching(t, low, word_starts(low)) == want, t[:80]


def test_evidence_patterns_find_what_their_regex_finds():
    lex = lexicon()
    finders = [*lex.courts, *(f for _, f in lex.legal_refs), lex.amount]
    finders += [p for p in _patterns().values() if isinstance(p, Finder)]
    for t in TEXTS:
        low = t.lower()
        starts = word_starts(low)
        for _, m in (*lex.actors, *lex.programs):
            want = m.regex.search(t) is not None
            assert m.test(t, low) == want, (m.regex.pattern, t[:80])
            assert m.test(t, low, starts) == want, (m.regex.pattern, t[:80])
        for f in finders:
            want = [(x.span(), x.group(0), x.groups()) for x in f.regex.finditer(t)]
            for known in (None, starts):
                got = [(x.span(), x.group(0), x.groups()) for x in f.finditer(t, low, known)]
                assert got == want, (f.regex.pattern, t[:80])


def test_official_names_are_found_as_their_regex_finds_them():
    for names in _official_patterns()[:2]:
        plain = re.compile(names.regex.pattern)
        for t in TEXTS:
            want = [(m.span(), m.groups()) for m in plain.finditer(t)]
            for starts in (None, word_starts(t.lower())):
                assert [(m.span(), m.groups()) for m in names.finditer(t, starts)] == want, t[:80]


def test_precheck_scanner_finds_the_same_spans():
    rx, fast = lexicon().precheck.regex, lexicon().precheck.scanner
    for t in TEXTS:
        low = t.lower()
        assert [m.span() for m in fast.finditer(low)] == [m.span() for m in rx.finditer(low)]


def test_place_context_patterns_answer_like_their_regex():
    rules = place_rules()
    pats = _patterns()
    for name in ("incidental_before", "city_cues_before"):
        plain = re.compile(rules[name], re.IGNORECASE)
        fast = pats["incidental_before" if name == "incidental_before" else "cue_before"]
        for t in TEXTS[:400]:
            for end in range(0, len(t), 11):
                before = t[max(0, end - 60) : end]
                assert fast.test(before) == (plain.search(before) is not None), (name, before)


@pytest.mark.parametrize("pattern, text, want", [
    (r"\bice\b", "the police said", False),
    (r"\bice\b", "(ICE) agents", True),
    (r"\bdetainers?\b", "detainers", True),
    (r"\bsa(?:ys|id)\b", "essays", False),
    (r"(?:limit|bar)\w*[^.]{0,20}\bice\b", "embargo on ice", True),
    (r"^(?:presidential )?executive order\b", "x\nexecutive order", True),
    (r"\b(?:advance )?notice of release", "gave notice of release", True),
    (r"\b(?:advance )?notice of release", "an advance notices of release", False),
    (r"\b(?:advance |prior )?+notice", "advance notice", True),
])
def test_matcher_small_cases(pattern, text, want):
    for m in (Matcher(pattern), IndexedMatcher(pattern)):
        assert m.test(text.lower()) is want
    assert Matcher(pattern, ignorecase=True).test(text.upper()) is want


def test_gates_are_literals_every_match_contains():
    # spellings that start alike and share their probe are looked for as the start they share
    assert gates(r"\bsanctuary cit(?:y|ies)") == ((("sanctuary cit", "sanc"),),)
    assert gates(r"\b(?:sanctuary|welcoming) cit(?:y|ies)") == ((
        ("sanctuary cities", "sanc"), ("welcoming cities", "welc"), ("sanctuary city", "sanc"), ("welcoming city", "welc")),)
    assert gates(r"\w+") == ()
    f = Finder(r"\b(?:SB|senate bill)\s*(\d+)\b", ignorecase=True)
    assert [m.groups() for m in f.finditer("Senate Bill 54 and sb4")] == [("54",), ("4",)]


def test_every_rewritten_alternative_compiles():
    lex = lexicon()
    matchers = [r.matcher for r in (lex.precheck, *(f.regex for f in (*lex.signals, *lex.false_friends)),
                                    *(c.regex for c in lex.cues))]
    matchers += [m for _, m in (*lex.actors, *lex.programs)]
    matchers += [p for p in _patterns().values() if isinstance(p, Matcher)]
    for m in matchers:
        for _, rx in m.branches or ():
            assert rx.compiled.pattern == rx.source


def _compiled_pairs() -> list[tuple[re.Pattern[str], re.Pattern[str]]]:
    """(regex, its ASCII twin) for every regex the classifier's matchers and finders search with."""
    lex = lexicon()
    matchers = [r.matcher for r in (lex.precheck, *(f.regex for f in (*lex.signals, *lex.false_friends)),
                                    *(c.regex for c in lex.cues))]
    matchers += [m for _, m in (*lex.actors, *lex.programs)]
    matchers += [p for p in _patterns().values() if isinstance(p, Matcher)]
    pairs = [(rx.compiled, rx.compiled_ascii) for m in matchers for _, rx in m.branches or ()]
    finders = [*lex.courts, *(f for _, f in lex.legal_refs), lex.amount]
    finders += [p for p in _patterns().values() if isinstance(p, Finder)]
    for f in finders:
        pairs.append((f.regex, f.regex_ascii))
        if f.lowered_regex is not None:
            pairs.append((f.lowered_regex, f.lowered_ascii))
    return pairs


def test_ascii_twins_find_what_their_regex_finds():
    texts = [t for t in TEXTS if t.isascii()]
    texts += [t.replace(" ", sep, 3) for t in texts[:200] for sep in ("\x1c", "\x1f", "\t", "\x0b")]
    texts += ["a\x1cb", "ice\x1dagents", "sanctuary\x1ecities", "\x1f", "snake_case ice_agents 1373_x"]
    for rx, twin in _compiled_pairs():
        for t in texts:
            for low in (t, t.lower()):
                want = [(m.span(), m.groups()) for m in rx.finditer(low)]
                assert [(m.span(), m.groups()) for m in twin.finditer(low)] == want, (rx.pattern, low[:80])


@pytest.mark.parametrize("pattern, flags", [
    (r"a\sb", 0), (r"a\Sb", 0), (r"[\s,]+", 0), (r"[^\s]+", 0), (r"[]\s]", 0), (r"[^]\s-]", 0), (r"\\s", 0),
    (r"\bice\b\s*\w+", re.IGNORECASE), (r"(?i:ice)\s+[A-Z]", 0), (r"\d+\W", re.MULTILINE),
])
def test_ascii_twin_small_cases(pattern, flags):
    twin = ascii_twin(pattern, flags)
    rx = re.compile(pattern, flags)
    for t in ("a b", "a\x1cb", "a\x1fb", "a\tb", "x]y\x1dz", "ICE \x1cAgents", "ice\\s", "12\x1c", "a-b", "_x_"):
        assert [m.span() for m in twin.finditer(t)] == [m.span() for m in rx.finditer(t)], (pattern, t)


def test_ascii_twin_refuses_what_it_cannot_be_sure_of():
    assert ascii_twin(r"[\S]") is None  # a class holding \S
    assert ascii_twin("\u212a", re.IGNORECASE) is None  # the Kelvin sign matches "k" under Unicode rules
    assert ascii_twin("(?i:\u017f)") is None  # and the long s "s"
    assert ascii_twin(r"\w", re.ASCII) is None
    assert ascii_twin(r"(?u)\w") is None


_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,;:'\"-()§$#\n\t"
_CATEGORIES = {C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D", C.CATEGORY_SPACE: r"\s",
               C.CATEGORY_NOT_SPACE: r"\S", C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W"}


def _in_class(items, ch: str) -> bool:
    hit = any((op is C.LITERAL and av == ord(ch)) or (op is C.RANGE and av[0] <= ord(ch) <= av[1])
              or (op is C.CATEGORY and re.fullmatch(_CATEGORIES[av], ch) is not None) for op, av in items)
    return hit != any(op is C.NEGATE for op, _ in items)


def _sample(items, rnd: random.Random, out: list[str]) -> None:
    """Appends a random string the parsed pattern may match (zero-width assertions are left to the regex)."""
    for op, av in items:
        if op is C.LITERAL:
            out.append(chr(av))
        elif op is C.NOT_LITERAL:
            out.append(rnd.choice([c for c in _ALPHABET if c != chr(av)]))
        elif op is C.ANY:
            out.append(rnd.choice(_ALPHABET[:-2]))
        elif op is C.IN:
            out.append(rnd.choice([c for c in _ALPHABET if _in_class(av, c)] or ["\u2028"]))
        elif op is C.BRANCH:
            _sample(rnd.choice(av[1]), rnd, out)
        elif op is C.SUBPATTERN:
            _sample(av[-1], rnd, out)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            for _ in range(rnd.randint(av[0], min(av[1], av[0] + 3))):
                _sample(av[2], rnd, out)


def test_gates_pass_on_generated_matches():
    """Every gate holds on texts the regex matches: texts generated from each alternative, in random context,
    tested with their word starts (a case-sensitive pattern's probes lower-cased, on the lower-cased text)."""
    lex, rnd = lexicon(), random.Random(7)
    gated = [(rx.source, rx.flags, clauses, True) for ms in (lex.features._set, lex.cue_set._set)
             for _, clauses, rx, _ in ms.branches]
    matchers = [r.matcher for r in (lex.precheck, lex.background, *(getattr(lex.forms, k) for k in (
        "instrument_title", "instrument_text", "instrument_publisher_text", "court_caption", "court_docket",
        "court_filing", "court_disposition")))]
    matchers += [m for _, m in (*lex.actors, *lex.programs)] + [p for p in _patterns().values() if isinstance(p, Matcher)]
    gated += [(rx.source, rx.flags, clauses, m.ignorecase) for m in matchers for clauses, rx in m.branches or ()]
    for f in [*lex.courts, *(f for _, f in lex.legal_refs), *(p for p in _patterns().values() if isinstance(p, Finder))]:
        if f.lowered_regex is not None:
            gated.append((lower_pattern(f.regex.pattern), f.lowered_regex.flags, f.clauses, True))
        elif f.clauses:
            gated.append((f.regex.pattern, f.regex.flags, f.clauses, f.ignorecase))
    context = ["", " ", ".", "\n", "x", "Q", "(", "-", "_", "9"]
    checked = 0
    for source, flags, clauses, lowered in gated:
        rx, parsed = re.compile(source, flags), P.parse(source, flags)
        for _ in range(12):
            out: list[str] = []
            _sample(parsed, rnd, out)
            t = "".join([rnd.choice(context), rnd.choice(context), *out, rnd.choice(context), rnd.choice(context)])
            if rx.search(t) is None:
                continue
            checked += 1
            assert passes(clauses, t), (source, t)
            if lowered:
                assert passes(clauses, t, word_starts(t)), (source, t)
            elif t.isascii():
                assert passes(fold_probes(clauses), t, word_starts(t.lower())), (source, t)
    assert checked > 2000
