"""Filter places -> Census FIPS codes, indexed from the classifier's gazetteer.

`resolve("Cook County, IL")` is `"17031"`, `resolve("Saint Paul, MN")` is
`"2758000"`, `resolve("Illinois")` and `resolve("IL")` are `"17"`, a FIPS code
is itself; anything the gazetteer does not know is None. A name with a state is
looked up as a city first ("Chicago, IL"), then as "<name> City" ("New York,
NY"), then as a county ("Miami-Dade, FL"); of two places with one name in one
state the larger wins. Filter text is keyed its own way ("City of Chicago" is
"Chicago"); the entries are the classifier's (`watcher.classify.rules.gazetteer`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from watcher.classify.rules import gazetteer
_COUNTY_WORDS = ("COUNTY", "PARISH", "BOROUGH", "CENSUS AREA", "MUNICIPALITY", "CITY AND BOROUGH")


def place_key(name: str) -> str:
    """'Saint Paul', 'St. Paul' and 'ST PAUL' agree; 'City of Chicago' is 'Chicago'."""
    k = re.sub(r"[^A-Z0-9]+", " ", name.upper()).strip()
    k = re.sub(r"^(CITY|TOWN|VILLAGE) OF ", "", k)
    k = re.sub(r"\bSAINTE\b", "STE", k)
    return re.sub(r"\bSAINT\b", "ST", k)


@dataclass
class Places:
    states: dict[str, str] = field(default_factory=dict)  # postal code or name key -> FIPS
    postal: dict[str, str] = field(default_factory=dict)  # state FIPS -> postal code
    counties: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)  # (key, ST) -> (size, FIPS)
    cities: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)  # every county and city key, any state
    codes: set[str] = field(default_factory=set)


@functools.cache
def places() -> Places:
    p = Places()
    g = gazetteer()
    for state in g.by_postal.values():
        p.codes.add(state.fips)
        p.states[state.state] = p.states[place_key(state.name)] = state.fips
        p.postal[state.fips] = state.state
    for entries, table in ((g.counties, p.counties), (g.places, p.cities)):
        for candidates in entries.values():
            for c in candidates:
                j = c.jurisdiction
                p.codes.add(j.fips)
                key = (place_key(j.name), j.state)
                if key not in table or table[key][0] < c.size:
                    table[key] = (c.size, j.fips)
                p.names.add(key[0])
    return p


def state_code(text: str) -> str | None:
    """'IL', 'il', 'Illinois' -> 'IL'."""
    p = places()
    fips = p.states.get(text.strip().upper()) or p.states.get(place_key(text))
    return p.postal.get(fips) if fips else None


@functools.lru_cache(maxsize=4096)
def resolve(text: str) -> str | None:
    """The FIPS code a filter's place names, or None if the gazetteer has no such place."""
    p = places()
    text = text.strip()
    if text.isdigit():
        return text if text in p.codes else None
    if "," in text:
        name, _, state = text.rpartition(",")
        st = state_code(state)
        if st is None:
            return None
        key = place_key(name)
        if key.endswith(_COUNTY_WORDS):
            hit = p.counties.get((key, st))
        else:
            hit = p.cities.get((key, st)) or p.cities.get((f"{key} CITY", st)) or p.counties.get((f"{key} COUNTY", st))
        return hit[1] if hit else None
    st = state_code(text)
    return p.states[st] if st else None


def known_name(text: str) -> bool:
    """Whether a name without a state is some county's or city's name."""
    return place_key(text) in places().names
