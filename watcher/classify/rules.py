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


@dataclass(frozen=True)
class Feature:
    id: str
    reason: str
    weight: float
    regex: re.Pattern[str]


@dataclass(frozen=True)
class KindCue:
    kind: str
    weight: float
    decisive: bool
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    threshold: float
    steepness: float
    body_factor: float
    precheck: re.Pattern[str]
    signals: tuple[Feature, ...]
    false_friends: tuple[Feature, ...]
    zones: dict[str, float]
    priority: tuple[str, ...]
    default_kind: str
    cues: tuple[KindCue, ...]
    actors: tuple[tuple[str, re.Pattern[str]], ...]
    courts: tuple[re.Pattern[str], ...]
    legal_refs: tuple[tuple[str, re.Pattern[str]], ...]
    amount: re.Pattern[str]
    programs: tuple[tuple[str, re.Pattern[str]], ...]


def _features(rows: list[dict[str, Any]]) -> tuple[Feature, ...]:
    return tuple(
        Feature(r["id"], r["reason"], float(r["weight"]), _compile(r["pattern"], r.get("case", False))) for r in rows
    )


@functools.cache
def lexicon() -> Lexicon:
    raw = yaml.safe_load((DATA / "lexicon.yaml").read_text(encoding="utf-8"))
    rel, kinds, ev = raw["relevance"], raw["kinds"], raw["evidence"]
    cues = tuple(
        KindCue(kind, float(c["weight"]), bool(c.get("decisive", False)), _compile(c["pattern"]))
        for kind, rows in kinds["cues"].items()
        for c in rows
    )
    return Lexicon(
        threshold=float(rel["threshold"]),
        steepness=float(rel["steepness"]),
        body_factor=float(rel["body_factor"]),
        precheck=_compile(rel["precheck"]),
        signals=_features(rel["signals"]),
        false_friends=_features(rel["false_friends"]),
        zones={k: float(v) for k, v in kinds["zones"].items()},
        priority=tuple(kinds["priority"]),
        default_kind=kinds["default"],
        cues=cues,
        actors=tuple((a["name"], _compile(a["pattern"], a.get("case", False))) for a in ev["actors"]),
        courts=tuple(_compile(p) for p in ev["court_patterns"]),
        legal_refs=tuple((r["form"], _compile(r["pattern"], r.get("case", False))) for r in ev["legal_ref_patterns"]),
        amount=_compile(ev["amount_pattern"]),
        programs=tuple((p["name"], _compile(p["pattern"], True)) for p in ev["funding_programs"]),
    )


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
