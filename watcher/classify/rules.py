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

from watcher.classify.matcher import Finder, Matcher, MatcherSet, lower_pattern, scanner
from watcher.domain import Jurisdiction

DATA = Path(__file__).parent / "data"


def _yaml(text: str) -> Any:
    """yaml.safe_load, with libyaml's loader when it is there (the same data, faster)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _source(pattern: str) -> str:
    return re.sub(r"\s*\n\s*", "", pattern.strip())


def _matcher(pattern: str, case: bool = False) -> Matcher:
    """An evidence pattern that only says whether it matches (case-insensitive unless `case`)."""
    return Matcher(_source(pattern), ignorecase=not case)


def _finder(pattern: str, case: bool = False) -> Finder:
    """An evidence pattern whose matches are kept (case-insensitive unless `case`)."""
    return Finder(_source(pattern), ignorecase=not case)


@dataclass(frozen=True)
class Rule:
    """A lexicon pattern: `regex` as written (lower-cased unless `case`), and a fast `test`.

    Case-insensitive rules run on lower-cased text (much faster than re.IGNORECASE).
    """

    regex: re.Pattern[str]
    case: bool
    matcher: Matcher
    scanner: re.Pattern[str]  # the same matches as `regex`, for finditer over long texts

    def test(self, text: str, lowered: str, starts: set[str] | None = None) -> bool:
        """Whether the pattern matches anywhere: `bool(regex.search(...))`, only faster.

        `starts`: `matcher.word_starts(lowered)`, when the caller tests many rules on one text.
        """
        if self.case:
            return self.matcher.test(text, starts=starts)
        return self.matcher.test(lowered, starts=starts)


def make_rule(pattern: str, case: bool = False, common: frozenset[str] = frozenset()) -> Rule:
    """`common`: word probes that most texts the rule is tested on hold (see `pattern_analysis.gates`)."""
    source = re.sub(r"\s*\n\s*", "", pattern.strip())
    if not case:
        source = lower_pattern(source)
    return Rule(re.compile(source, re.MULTILINE), case, Matcher(source, common=common), scanner(source))


def _common_probes(precheck: Rule) -> frozenset[str]:
    """The word starts of the pre-check's one-word literals: every text the other rules are tested on holds
    one of them, most often one of these few words (a phrase of the pre-check, "notice and access", is rare)."""
    lits = [lit for clauses, _ in precheck.matcher.branches or () for c in clauses for lit, _ in c
            if re.fullmatch(r"\w+", lit)]
    return frozenset(m.group(0) for m in (re.match(r"\w{3,4}", lit) for lit in lits) if m)


class RuleSet:
    """Rules tested together on one text: `matching` gives the indices of those that match."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._lowered = [i for i, r in enumerate(rules) if not r.case]
        self._cased = [i for i, r in enumerate(rules) if r.case]
        self._set = MatcherSet([rules[i].matcher for i in self._lowered])

    def matching(self, text: str, lowered: str, starts: set[str], survivors: list[int] | None = None) -> set[int]:
        """`starts` is `matcher.word_starts(lowered)` (or a superset). `survivors`: `survivors()` of a
        lower-cased text that contains `lowered`, with the same `starts`."""
        found = {self._lowered[j] for j in self._set.matching(lowered, starts, survivors)}
        found.update(i for i in self._cased if self.rules[i].test(text, lowered, starts))
        return found

    def survivors(self, lowered: str, starts: set[str]) -> list[int]:
        """The lower-cased rules' alternatives whose gates `lowered` passes (see `MatcherSet.survivors`)."""
        return self._set.survivors(lowered, starts)


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
class Forms:
    """What an item itself is (rule 2: the instrument decides): an executive order or
    proclamation, or a court document; see `kinds.forms` in lexicon.yaml."""

    instrument_title: Rule
    instrument_text: Rule
    instrument_publisher_text: Rule
    instrument_publishers: frozenset[str]
    court_publishers: frozenset[str]
    court_caption: Rule
    court_docket: Rule
    court_filing: Rule
    court_disposition: Rule


def _forms(raw: dict[str, Any]) -> Forms:
    sets = {"instrument_publishers", "court_publishers"}
    return Forms(**{k: (frozenset(v) if k in sets else make_rule(v)) for k, v in raw.items()})


@dataclass(frozen=True)
class Lexicon:
    threshold: float
    steepness: float
    body_factor: float
    head_support: float
    unsupported_body_factor: float
    precheck: Rule  # runs on lower-cased text
    signals: tuple[Feature, ...]
    false_friends: tuple[Feature, ...]
    zones: dict[str, float]
    priority: tuple[str, ...]
    default_kind: str
    statement_margin: float
    cues: tuple[KindCue, ...]
    forms: Forms
    background: Rule
    background_factor: float
    actors: tuple[tuple[str, Matcher], ...]
    courts: tuple[Finder, ...]
    legal_refs: tuple[tuple[str, Finder], ...]
    amount: Finder
    programs: tuple[tuple[str, Matcher], ...]

    @functools.cached_property
    def features(self) -> RuleSet:
        """The signals then the false friends, tested together."""
        return RuleSet([f.regex for f in (*self.signals, *self.false_friends)])

    @functools.cached_property
    def cue_set(self) -> RuleSet:
        return RuleSet([c.regex for c in self.cues])

    @functools.cached_property
    def feature_by_id(self) -> dict[str, Feature]:
        return {f.id: f for f in (*self.signals, *self.false_friends)}


def _features(rows: list[dict[str, Any]], common: frozenset[str]) -> tuple[Feature, ...]:
    return tuple(
        Feature(r["id"], r["reason"], float(r["weight"]), make_rule(r["pattern"], r.get("case", False), common))
        for r in rows
    )


@functools.cache
def lexicon() -> Lexicon:
    raw = _yaml((DATA / "lexicon.yaml").read_text(encoding="utf-8"))
    rel, kinds, ev = raw["relevance"], raw["kinds"], raw["evidence"]
    precheck = make_rule(rel["precheck"])
    common = _common_probes(precheck)
    cues = tuple(
        KindCue(kind, float(c["weight"]), bool(c.get("decisive", False)), make_rule(c["pattern"], common=common))
        for kind, rows in kinds["cues"].items()
        for c in rows
    )
    return Lexicon(
        threshold=float(rel["threshold"]),
        steepness=float(rel["steepness"]),
        body_factor=float(rel["body_factor"]),
        head_support=float(rel["head_support"]),
        unsupported_body_factor=float(rel["unsupported_body_factor"]),
        precheck=precheck,
        signals=_features(rel["signals"], common),
        false_friends=_features(rel["false_friends"], common),
        zones={k: float(v) for k, v in kinds["zones"].items()},
        priority=tuple(kinds["priority"]),
        default_kind=kinds["default"],
        statement_margin=float(kinds["statement_margin"]),
        cues=cues,
        forms=_forms(kinds["forms"]),
        background=make_rule(kinds["background"]),
        background_factor=float(kinds["background_factor"]),
        actors=tuple((a["name"], _matcher(a["pattern"], a.get("case", False))) for a in ev["actors"]),
        courts=tuple(_finder(p, True) for p in ev["court_patterns"]),
        legal_refs=tuple((r["form"], _finder(r["pattern"], r.get("case", False))) for r in ev["legal_ref_patterns"]),
        amount=_finder(ev["amount_pattern"]),
        programs=tuple((p["name"], _matcher(p["pattern"], True)) for p in ev["funding_programs"]),
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
        if " and " in text:  # "City & County of San Francisco" is as common
            g.aliases[text.replace(" and ", " & ")] = g.aliases[text]
    return g


@functools.cache
def place_rules() -> dict[str, Any]:
    return _yaml((DATA / "places.yaml").read_text(encoding="utf-8"))
