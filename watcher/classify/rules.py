"""Loading the classifier's data files once: the lexicon, the place rules and the gazetteer.

Everything here is read lazily on first use and cached for the life of the
process; classifying never touches the disk after that.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from watcher.domain import Jurisdiction

DATA = Path(__file__).parent / "data"


def _compile(pattern: str, case: bool = False) -> re.Pattern[str]:
    flags = re.MULTILINE if case else re.IGNORECASE | re.MULTILINE
    return re.compile(re.sub(r"\s*\n\s*", "", pattern.strip()), flags)


def _lower_pattern(pattern: str) -> str:
    """The pattern for lower-cased text: literal letters lowered, escapes (\\b, \\S) kept."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
        else:
            out.append(pattern[i].lower())
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class Rule:
    """A compiled pattern with the literals one of which any match must contain.

    Case-insensitive rules run on lower-cased text (much faster than re.IGNORECASE);
    when none of the literals occurs in the text, the regex is not run at all.
    """

    regex: re.Pattern[str]
    case: bool
    needs: tuple[str, ...]  # empty: always run

    def search(self, text: str, lowered: str) -> re.Match[str] | None:
        t = text if self.case else lowered
        if self.needs and not any(n in t for n in self.needs):
            return None
        return self.regex.search(t)

    def finditer(self, text: str, lowered: str):
        t = text if self.case else lowered
        if self.needs and not any(n in t for n in self.needs):
            return iter(())
        return self.regex.finditer(t)


def make_rule(pattern: str, case: bool = False) -> Rule:
    source = re.sub(r"\s*\n\s*", "", pattern.strip())
    if not case:
        source = _lower_pattern(source)
    regex = re.compile(source, re.MULTILINE)
    return Rule(regex, case, required_literals(source))


def required_literals(source: str) -> tuple[str, ...]:
    """Strings of which every match contains at least one (empty if none can be proved)."""
    from re import _constants as c, _parser as p  # type: ignore[attr-defined]

    def factors(seq) -> set[str] | None:  # noqa: ANN001
        options: list[set[str]] = []
        run = ""
        for op, av in seq:
            if op is c.LITERAL:
                run += chr(av)
                continue
            if run:
                options.append({run})
                run = ""
            found: set[str] | None = None
            if op is c.SUBPATTERN:
                found = factors(av[-1])
            elif op is c.BRANCH:
                branches = [factors(b) for b in av[1]]
                found = None if any(b is None for b in branches) else set().union(*branches)  # type: ignore[arg-type]
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[0] >= 1:
                found = factors(av[2])
            if found:
                options.append(found)
        if run:
            options.append({run})
        options = [o for o in options if min(len(x) for x in o) >= 3]
        return max(options, key=lambda o: min(len(x) for x in o)) if options else None

    try:
        found = factors(p.parse(source))
    except Exception:  # noqa: BLE001 - an unparseable pattern is simply always run
        return ()
    return tuple(sorted(found)) if found else ()


@dataclass(frozen=True)
class Feature:
    id: str
    reason: str
    weight: float
    regex: Rule


@dataclass(frozen=True)
class KindCue:
    kind: str
    weight: float
    decisive: bool
    regex: Rule


@dataclass(frozen=True)
class Lexicon:
    threshold: float
    steepness: float
    body_factor: float
    precheck: re.Pattern[str]  # runs on lower-cased text
    signals: tuple[Feature, ...]
    false_friends: tuple[Feature, ...]
    zones: dict[str, float]
    priority: tuple[str, ...]
    default_kind: str
    statement_margin: float
    cues: tuple[KindCue, ...]
    actors: tuple[tuple[str, re.Pattern[str]], ...]
    courts: tuple[re.Pattern[str], ...]
    legal_refs: tuple[tuple[str, re.Pattern[str]], ...]
    amount: re.Pattern[str]
    programs: tuple[tuple[str, re.Pattern[str]], ...]


def _features(rows: list[dict[str, Any]]) -> tuple[Feature, ...]:
    return tuple(
        Feature(r["id"], r["reason"], float(r["weight"]), make_rule(r["pattern"], r.get("case", False))) for r in rows
    )


@functools.cache
def lexicon() -> Lexicon:
    raw = yaml.safe_load((DATA / "lexicon.yaml").read_text(encoding="utf-8"))
    rel, kinds, ev = raw["relevance"], raw["kinds"], raw["evidence"]
    cues = tuple(
        KindCue(kind, float(c["weight"]), bool(c.get("decisive", False)), make_rule(c["pattern"]))
        for kind, rows in kinds["cues"].items()
        for c in rows
    )
    return Lexicon(
        threshold=float(rel["threshold"]),
        steepness=float(rel["steepness"]),
        body_factor=float(rel["body_factor"]),
        precheck=make_rule(rel["precheck"]).regex,
        signals=_features(rel["signals"]),
        false_friends=_features(rel["false_friends"]),
        zones={k: float(v) for k, v in kinds["zones"].items()},
        priority=tuple(kinds["priority"]),
        default_kind=kinds["default"],
        statement_margin=float(kinds["statement_margin"]),
        cues=cues,
        actors=tuple((a["name"], _compile(a["pattern"], a.get("case", False))) for a in ev["actors"]),
        courts=tuple(_compile(p, True) for p in ev["court_patterns"]),
        legal_refs=tuple((r["form"], _compile(r["pattern"], r.get("case", False))) for r in ev["legal_ref_patterns"]),
        amount=_compile(ev["amount_pattern"]),
        programs=tuple((p["name"], _compile(p["pattern"], True)) for p in ev["funding_programs"]),
    )


@functools.lru_cache(maxsize=65536)
def place_key(name: str) -> str:
    """A spelling-insensitive key: 'Saint Paul', 'St. Paul' and 'ST PAUL' agree."""
    k = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
    k = re.sub(r"(^|_)SAINT(_|$)", r"\1ST\2", k)
    return re.sub(r"(^|_)SAINTE(_|$)", r"\1STE\2", k)


@dataclass(frozen=True)
class Candidate:
    """One gazetteer entry a name may refer to, with its size (people, or ZIP codes for counties)."""

    jurisdiction: Jurisdiction
    size: int


@dataclass
class Gazetteer:
    states: dict[str, Jurisdiction] = field(default_factory=dict)  # key -> state
    by_postal: dict[str, Jurisdiction] = field(default_factory=dict)
    counties: dict[str, list[Candidate]] = field(default_factory=dict)  # key incl. COUNTY
    places: dict[str, list[Candidate]] = field(default_factory=dict)
    aliases: dict[str, Jurisdiction] = field(default_factory=dict)  # exact text -> jurisdiction


@functools.cache
def gazetteer() -> Gazetteer:
    g = Gazetteer()
    with (DATA / "gazetteer.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            j = Jurisdiction(row["name"], row["state"], row["kind"], row["fips"])
            size = int(row["size"] or 0)
            if j.kind == "state":
                g.states[place_key(j.name)] = j
                g.by_postal[j.state] = j
            elif j.kind == "county":
                g.counties.setdefault(place_key(j.name), []).append(Candidate(j, size))
            else:
                g.places.setdefault(place_key(j.name), []).append(Candidate(j, size))
    for text, a in place_rules()["aliases"].items():
        g.aliases[text] = Jurisdiction(a["name"], a["state"], a["kind"], a["fips"])
    return g


@functools.cache
def place_rules() -> dict[str, Any]:
    return yaml.safe_load((DATA / "places.yaml").read_text(encoding="utf-8"))
