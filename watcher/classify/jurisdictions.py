"""Jurisdictions: the states, counties and cities an item names as parties (rule 3).

Names are found in the text, looked up in the gazetteer, and kept only when the
text gives them a role: a state name stands on its own, a county carries its
"County"; a city needs a cue ("City of X", "X Mayor", "X, Texas", a list of
places) or must be a large place taken at its bare name. Mentions that only
locate something else (a court's district, a venue, an ICE field office,
"Cook County, Illinois") are dropped.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from watcher.classify.matcher import (
    Finder,
    IndexedMatcher,
    Matcher,
    WordsFinder,
    word_starts,
)
from watcher.classify.place_index import candidate_spans
from watcher.classify.rules import Candidate, gazetteer, place_key, place_rules
from watcher.domain import Jurisdiction

# before a state: an unknown place it locates ("in National Harbor, Maryland")
_LOCATED_PLACE = re.compile(r"\b(?:in|at|near|outside|from)\s+((?:[A-Z][\w.'-]*\s+){0,3}[A-Z][\w.'-]*),\s*$")
# before a city or county: an article that makes the name a modifier ("on a San Francisco pier")
_MODIFIER_BEFORE = re.compile(r"\b(?:a|an)\s+$", re.IGNORECASE)
# a state name that also names the federal government ("a matter reserved to Washington") counts only
# with one of these after it, or in a list of states
_STATE_CUE_AFTER = re.compile(
    r"(?:'s)?\s+(?:state|gov\.|governor|attorney general|legislature|lawmakers|law|laws|officials|residents|voters|"
    r"senate|house|department|agencies|sheriffs?|counties|cities)\b", re.IGNORECASE)
_STATE_CUE_BEFORE = re.compile(r"\b(?:state of|states of(?: [\w ,]+)?)\s+$", re.IGNORECASE)
_METONYMS = frozenset({"WASHINGTON"})
# after a name in a list: a capitalised word or a middle initial makes it a person's first name ("Wu of Boston,
# Brandon Johnson of", "New Jersey, Philip D. Murphy")
_FIRST_NAME_AFTER = re.compile(r" [A-Z](?:[a-z]|\. [A-Z])")

# the forms the helpers below test, compiled once
_COUNTY_SUFFIX = re.compile(r"\s+County$")
_LIST_SPLIT = re.compile(r",? and |, ")
# between two places of a list ("Chicago, Denver", "Texas and the city of Austin")
_LIST_GAP = re.compile(
    r"(?:'s)?(?:,|;|,? and|,? or|,? as well as|,? along with) (?:the (?:states?|city|cities|county|counties) of )?")
_SENTENCE_END = re.compile(r"[.!?]\s+$")
# after a place: a state that locates it (", Texas", ", TX", ", D.C.")
_STATE_AFTER = re.compile(r",\s+((?:[A-Z][a-z]+ ?){1,3}|[A-Z]{2}\b|D\.C\.)")
_LONG_WORD = re.compile(r"\b[a-zA-Z]{4,}\b")

# after an upper-case place name: a dateline ("BOSTON —", "ST. PAUL, Minn. —", "CHICAGO (AP) —")
_DATELINE = re.compile(r"(?:,\s*[A-Z][A-Za-z.]*(?:\s[A-Z][A-Za-z.]*)?)?(?:\s*\([A-Za-z]+\))?\s*(?:[—–]|--?\s)")


@dataclass
class Mention:
    start: int
    end: int
    text: str
    options: list[Candidate]  # what the name may refer to (one for states, counties resolved later)
    kind: str  # "state" | "county" | "city" | "alias" | "new_york"
    accepted: bool = False
    incidental: bool | None = False  # None: not worked out (a city that does not count)


@functools.cache
def _ambiguous() -> frozenset[str]:
    return frozenset(a.lower() for a in place_rules()["ambiguous_bare_names"])


@functools.cache
def _patterns() -> dict[str, Any]:
    r = place_rules()
    aliases = sorted(gazetteer().aliases, key=len, reverse=True)
    return {
        "alias": Finder(r"\b(?:" + "|".join(re.escape(a) for a in aliases) + r")(?:\s+County\b)?"),
        "cue_before": IndexedMatcher(r["city_cues_before"], ignorecase=True, flags=0),
        "cue_after": re.compile(r["city_cues_after"], re.IGNORECASE),
        "incidental_before": IndexedMatcher(r["incidental_before"], ignorecase=True, flags=0),
        "strong_before": Matcher(r"\b(?:city|town|village|borough) of\s+$", ignorecase=True, flags=0),
        "person_before": re.compile(r"[^.\n\s]\s+[A-Z][a-z]+\.? $"),
        "incidental_after": re.compile(r["incidental_after"], re.IGNORECASE),
        "state_adjective": re.compile(r["state_as_adjective_after"], re.IGNORECASE),
        "gov": re.compile(r["officials"]["title_before_governor"], re.IGNORECASE),
        "ag": re.compile(r["officials"]["title_before_attorney_general"], re.IGNORECASE),
        "plural_counties": Finder(
            r"((?:[A-Z][\w-]+(?: [A-Z][\w-]+)?, )*[A-Z][\w-]+(?: [A-Z][\w-]+)?,? and [A-Z][\w-]+(?: [A-Z][\w-]+)?) counties\b"
        ),
    }


@functools.cache
def _window_probes() -> frozenset[str]:
    """Every word probe the gates of the window tests (`cue_before`, `incidental_before`, `strong_before`)
    look up: the only word starts those tests read."""
    pats = _patterns()
    return frozenset(
        probe
        for name in ("cue_before", "incidental_before", "strong_before")
        for clauses, _ in pats[name].branches or ()
        for clause in clauses
        for _, probe in clause
        if probe is not None
    )


def _find_mentions(text: str, starts: set[str] | None = None) -> list[Mention]:
    """`starts`: `word_starts(text.lower())`, when the caller has them."""
    g, pats = gazetteer(), _patterns()
    mentions: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        for s, e in taken:
            if a < e and b > s:
                return False
        return True

    for m in pats["alias"].finditer(text, None, starts):
        base = _COUNTY_SUFFIX.sub("", m.group(0))
        j = g.aliases[base]
        mentions.append(Mention(m.start(), m.end(), m.group(0), [Candidate(j, 10**9)], "alias", accepted=True))
        taken.append((m.start(), m.end()))
    for m in pats["plural_counties"].finditer(text, None, starts):
        for name in _LIST_SPLIT.split(m.group(1)):
            options = g.counties.get(place_key(name + " County"), [])
            if options:
                s = text.index(name, m.start())
                mentions.append(Mention(s, s + len(name), name + " County", list(options), "county", accepted=True))
        taken.append((m.start(), m.end()))
    for a, b, length, key in candidate_spans(text):  # only the spans whose words may spell a gazetteer name
        span = text[a:b]
        k = key or place_key(span)
        if span.startswith("County of ") and length > 2:
            k = place_key(span[len("County of ") :] + " County")
            kind, options = "county", g.counties.get(k, [])
        elif k.endswith(("_COUNTY", "_PARISH", "_BOROUGH")):
            kind, options = "county", g.counties.get(k, [])
        elif k in g.states:
            kind, options = ("new_york" if k == "NEW_YORK" else "state"), [Candidate(g.states[k], 0)]
        else:
            kind, options = "city", g.places.get(k, [])
        if options and free(a, b):
            mentions.append(Mention(a, b, span, list(options), kind, accepted=kind in ("state", "county", "new_york")))
            taken.append((a, b))
    mentions.sort(key=lambda x: x.start)
    return mentions


def _pick(options: list[Candidate], states: set[str]) -> Candidate:
    """The referent of an ambiguous name: in a state the item names, else the biggest.

    A place far bigger than its namesake in a named state still wins (Louisville, KY
    over Louisville, IL in an item that also names Illinois).
    """
    if len(options) == 1:
        return options[0]
    biggest = max(options, key=lambda c: c.size)
    in_state = [c for c in options if c.jurisdiction.state in states]
    if not in_state:
        return biggest
    local = max(in_state, key=lambda c: c.size)
    if biggest.jurisdiction.kind == "city" and biggest.size >= 100000 and biggest.size > 10 * max(local.size, 5000):
        return biggest
    return local


def _list_neighbours(text: str, mentions: list[Mention], i: int) -> list[Mention]:
    """Mentions joined to mention i by commas, 'and', 'or' or semicolons: a list of places."""
    out: list[Mention] = []
    for step in (-1, 1):
        j = i
        while 0 <= j + step < len(mentions):
            a, b = (mentions[j + step], mentions[j]) if step < 0 else (mentions[j], mentions[j + step])
            gap = text[a.end : b.start]
            if not _LIST_GAP.fullmatch(gap):
                break
            j += step
            out.append(mentions[j])
    return out


@functools.cache
def _official_patterns() -> tuple[WordsFinder, WordsFinder, dict[str, tuple[str, str]], dict[str, str]]:
    rules = place_rules()["officials"]
    titled: dict[str, tuple[str, str]] = {}
    for table, title in (("governors", "gov"), ("attorneys_general", "ag")):
        for surname, st in rules[table].items():
            titled.setdefault(surname, ("", ""))
            titled[surname] = (titled[surname][0] + " " + title + ":" + st, "")
    # \b(Abbott|Brown|...)\b, looked for only when the text can hold one of them
    surnames = WordsFinder(sorted(titled, key=len, reverse=True), r"(?!\s+[A-Z])")
    named = _mayor_names()
    mayors = WordsFinder(list(named))
    return surnames, mayors, titled, named


@functools.cache
def _mayor_names() -> dict[str, str]:
    """How the officials table's mayors are named in text, each form to the full name: the full name, and
    the title with the surname where the surname is one mayor's ("Mayor Wu")."""
    mayors = place_rules()["officials"]["mayors"]
    by_surname: dict[str, list[str]] = {}
    for full in mayors:
        by_surname.setdefault(full.split()[-1], []).append(full)
    return {full: full for full in mayors} | {
        f"Mayor {last}": fulls[0] for last, fulls in by_surname.items() if len(fulls) == 1
    }


def _officials(text: str, starts: set[str] | None = None) -> list[Jurisdiction]:
    """`starts`: `word_starts(text.lower())`, when the caller has them."""
    rules, g, pats = place_rules()["officials"], gazetteer(), _patterns()
    surnames, mayors, titled, named = _official_patterns()
    found: list[Jurisdiction] = []
    for m in surnames.finditer(text, starts):
        before = text[max(0, m.start() - 40) : m.start()]
        for entry in titled[m.group(1)][0].split():
            title, st = entry.split(":")
            if pats[title].search(before):
                found.append(g.by_postal[st])
    for m in mayors.finditer(text, starts):
        name, st = rules["mayors"][named[m.group(1)]].rsplit(" ", 1)
        k = place_key(name)
        if k in g.states or st == "DC":
            found.append(g.by_postal[st])
        elif k.endswith("_COUNTY"):
            found.extend(c.jurisdiction for c in g.counties.get(k, []) if c.jurisdiction.state == st)
        else:
            found.extend(c.jurisdiction for c in g.places.get(k, []) if c.jurisdiction.state == st)
    return found


def _new_york_is_city(text: str, m: Mention, neighbours: list[Mention], mentions: list[Mention]) -> bool:
    before, after = text[max(0, m.start - 30) : m.start], text[m.end : m.end + 40]
    if re.search(r"\b(?:city of|mayors? of)\s+$", before, re.I) or re.match(
        r"(?:'s)?\s+(?:mayors?|city|police|NYPD|(?:Bill de Blasio|Eric Adams))\b", after, re.I
    ):
        return True
    if re.search(r"\bstate of\s+$", before, re.I) or re.match(
        r"(?:'s)?\s+(?:state|gov|governor|attorney general|legislature|lawmakers|residents|officials|law)\b", after, re.I
    ):
        return False
    nyc = gazetteer().aliases["New York City"]
    if any(n.kind == "alias" and n.options[0].jurisdiction == nyc for n in neighbours):
        return False  # "New York, New York City and six other states": the city is named on its own
    kinds = [n.kind for n in neighbours if n.kind != "new_york"]
    if kinds:
        cities = sum(k in ("city", "county") or (k == "alias") for k in kinds)
        return cities > len(kinds) - cities
    state_cue = re.search(r"state of New York|New York State|New York(?:'s)? (?:Gov|Governor|Attorney General|state law)", text)
    if state_cue:
        return False
    if "New York City" in text or "NYC" in text or _names_city_mayor(text, "New York City"):
        return True
    # the other places the item names are all cities or counties ("Los Angeles ... and New York")
    others = [n.kind for n in mentions if n is not m and n.accepted and not n.incidental and n.kind != "new_york"]
    return bool(others) and all(k in ("city", "county", "alias") for k in others)


@functools.cache
def _city_mayors(city: str) -> tuple[str, ...]:
    """The forms (`_mayor_names`) that name a mayor of `city`."""
    mayors = place_rules()["officials"]["mayors"]
    return tuple(form for form, full in _mayor_names().items() if mayors[full].rsplit(" ", 1)[0] == city)


def _names_city_mayor(text: str, city: str) -> bool:
    return any(name in text for name in _city_mayors(city))


def _state_cued(text: str, m: Mention, mentions: list[Mention], i: int) -> bool:
    """Whether a state name that can also stand for the federal government names the state here."""
    if _STATE_CUE_AFTER.match(text, m.end) or _STATE_CUE_BEFORE.search(text[max(0, m.start - 60) : m.start]):
        return True
    return any(n.kind in ("state", "new_york") for n in _list_neighbours(text, mentions, i))


def extract(text: str, known: tuple[str, set[str]] | None = None) -> tuple[Jurisdiction, ...]:
    """The jurisdictions that `text` (a title and summary) names as parties.

    `known`: `text.lower()` and its `word_starts`, when the caller has them."""
    if not text:
        return ()
    pats, g = _patterns(), gazetteer()
    mentions = _find_mentions(text, known[1] if known is not None else None)
    named_states = {m.options[0].jurisdiction.state for m in mentions if m.kind == "state"}
    window_starts = _WindowStarts(text, known)

    # a city's standing first (it needs no `incidental`); `incidental` is worked out only where it
    # can matter: for accepted mentions, and for a city a list of places may yet make count
    for m in mentions:
        if m.kind == "city":
            m.accepted = _city_accepted(text, m, named_states, window_starts)
            if not m.accepted:
                m.incidental = None
                continue
        m.incidental = _incidental(text, m, window_starts)

    # a list that holds an accepted place makes its other places count too
    for i, m in enumerate(mentions):
        if m.kind == "city" and not m.accepted and not _FIRST_NAME_AFTER.match(text, m.end):
            person = pats["person_before"].search(text[max(0, m.start - 30) : m.start])
            if not person and any(n.accepted and not n.incidental for n in _list_neighbours(text, mentions, i)):
                m.incidental = _incidental(text, m, window_starts)
                m.accepted = not m.incidental

    # states that only locate a county or city ("Cook County, Illinois", "Rochester, New York")
    for prev, m in zip(mentions, mentions[1:]):
        if m.kind in ("state", "new_york") and prev.kind in ("city", "county", "alias") and text[prev.end : m.start] in (", ", ","):
            state = m.options[0].jurisdiction.state
            if any(c.jurisdiction.state == state for c in prev.options):
                m.incidental = True
    for i, m in enumerate(mentions):
        if m.kind in ("state", "new_york") and not m.incidental:
            located = _LOCATED_PLACE.search(text[max(0, m.start - 60) : m.start])
            if located and place_key(located.group(1)) not in g.states and not any(
                n.end > m.start - 60 and n.end <= m.start and n.kind != "city" for n in mentions[:i]
            ):
                m.incidental = True
            elif place_key(m.text) in _METONYMS and not _state_cued(text, m, mentions, i):
                m.incidental = True

    # an ambiguous name ("Montgomery County") is read in the states the item names, or else in the state
    # of the big cities it names, even in passing ("officers in Baltimore"), when they are all in one
    context_states = named_states
    if not named_states and len(cities := _big_city_states(mentions)) == 1:
        context_states = cities
    out: dict[tuple[str, str], Jurisdiction] = {}
    for i, m in enumerate(mentions):
        if not m.accepted or m.incidental:
            continue
        if m.kind == "new_york":
            city = _new_york_is_city(text, m, _list_neighbours(text, mentions, i), mentions)
            j = g.aliases["New York City"] if city else m.options[0].jurisdiction
        else:
            j = _pick(m.options, context_states).jurisdiction
        if j.name == "Washington" and j.kind == "city":
            continue
        out.setdefault((j.name, j.state), j)
    for j in _officials(text, known[1] if known is not None else None):
        out.setdefault((j.name, j.state), j)
    return tuple(out.values())


def _big_city_states(mentions: list[Mention]) -> set[str]:
    """The states of the big cities (those taken at their bare name) among the mentions."""
    least = place_rules()["bare_city_min_population"]
    out: set[str] = set()
    for m in mentions:
        if m.kind == "city" and m.text.lower() not in _ambiguous():
            best = _pick(m.options, set())
            if best.size >= least:
                out.add(best.jurisdiction.state)
    return out


def _city_accepted(text: str, m: Mention, named_states: set[str], window_starts: _WindowStarts) -> bool:
    """Whether a city mention counts: a strong cue ("City of X", "X, Texas"), another cue unless the
    name is an ambiguous word, or a big enough place at its bare name not read as a person's name.
    The cheap tests first; the answer is that of all of them."""
    pats, rules = _patterns(), place_rules()
    after = text[m.end : m.end + 40]
    word = m.text.lower() in _ambiguous()
    if not word:
        best = _pick(m.options, named_states)
        bare_ok = best.size >= rules["bare_city_min_population"] or (
            best.size >= rules["bare_city_min_population_in_named_state"] and best.jurisdiction.state in named_states
        )
        if bare_ok and not (
            pats["person_before"].search(text[max(0, m.start - 30) : m.start]) and m.start >= _sentence_case_from(text)
        ):
            return True
        if pats["cue_after"].match(after) and not (best.size < 10000 and _sentence_start(text, m.start)):
            return True
    if _state_after(after):
        return True
    before = text[max(0, m.start - 60) : m.start]
    low, starts = window_starts(max(0, m.start - 60), m.start)
    if pats["strong_before"].test(before, low, starts):
        return True
    return not word and pats["cue_before"].test(before, low, starts)


def _sentence_start(text: str, at: int) -> bool:
    before = text[max(0, at - 3) : at]
    return at == 0 or before.endswith("\n") or bool(_SENTENCE_END.search(before))


def _incidental(text: str, m: Mention, window_starts: _WindowStarts) -> bool:
    """Whether a mention only locates something else (a court, a venue, a field office, a dateline)."""
    pats = _patterns()
    after = text[m.end : m.end + 40]
    if m.kind in ("city", "county") and _MODIFIER_BEFORE.search(text[max(0, m.start - 4) : m.start]) and not pats[
        "cue_after"
    ].match(after):
        return True  # "a San Francisco pier": the name describes something else
    if m.kind in ("city", "state", "new_york") and pats["incidental_after"].match(after):
        return True
    if m.kind in ("state", "new_york") and pats["state_adjective"].match(after):
        return True
    if m.text.isupper() and len(m.text) > 3 and _DATELINE.match(after):
        return True  # a dateline ("BOSTON —", "ST. PAUL, Minn. —") locates the release
    low, starts = window_starts(max(0, m.start - 60), m.start)
    return bool(pats["incidental_before"].test(text[max(0, m.start - 60) : m.start], low, starts))


class _WindowStarts:
    """The lower-cased text of a window of the text and the word starts of that window (a superset:
    those of the whole text, plus the window's first and last words where the window cuts them), from one pass.
    Only for ASCII text, where lower-casing keeps positions; otherwise (None, None). Of the whole
    text's starts only those the window tests read (`_window_probes`) are kept: the same answers,
    and small sets to look probes up in."""

    def __init__(self, text: str, known: tuple[str, set[str]] | None = None) -> None:
        self.ascii = text.isascii()
        if known is not None and self.ascii:
            self.low, starts = known
        else:
            self.low = text.lower() if self.ascii else ""
            starts = word_starts(self.low) if self.ascii else set()
        self.starts = starts & _window_probes()
        self.extended: set[str] | None = None
        self.seen: dict[tuple[int, int], tuple[str | None, set[str] | None]] = {}

    def __call__(self, a: int, b: int) -> tuple[str | None, set[str] | None]:
        if not self.ascii:
            return None, None
        got = self.seen.get((a, b))
        if got is None:
            got = self.seen[a, b] = self._window(a, b)
        return got

    def _window(self, a: int, b: int) -> tuple[str, set[str]]:
        low = self.low
        window = low[a:b]
        cuts_first = a > 0 and window and _is_word_char(low[a - 1]) and _is_word_char(window[0])
        cuts_last = b < len(low) and window and _is_word_char(window[-1]) and _is_word_char(low[b])
        if not (cuts_first or cuts_last):
            return window, self.starts
        # a superset serves as well: one copy of the text's starts, grown by each cut word's
        if self.extended is None:
            self.extended = set(self.starts)
        if cuts_first:
            self.extended.update(word_starts(window[:40].split(" ", 1)[0]))
        if cuts_last:  # a word of 3 characters here may start a longer one of the text
            self.extended.update(word_starts(window[-40:].rsplit(" ", 1)[-1]))
        return window, self.extended


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _state_after(after: str) -> bool:
    m = _STATE_AFTER.match(after)
    if not m:
        return False
    k = place_key(m.group(1).strip())
    return k in gazetteer().states or k in gazetteer().by_postal


def _sentence_case_from(text: str) -> int:
    """Where sentence-case text begins: a Title Case headline at the start is skipped."""
    first = text.split("\n", 1)[0]
    words = _LONG_WORD.findall(first)
    if words and sum(w[0].isupper() for w in words) / len(words) > 0.7:
        return len(first)
    return 0
