"""Which stories a subscriber or a webhook wants: its `filter`, applied to a story. Pure.

A filter's lists are ORed within a list and ANDed across lists; an empty list
does not restrict, so an empty filter takes every story (every story is made of
relevant items). The parts:

- `kinds`: the story's kind is one of them.
- `jurisdictions`: one of the story's jurisdictions is one of them. Written
  `"Chicago, IL"`, `"Cook County, IL"` (name and state: the name compared without
  regard to case, punctuation or "Saint"/"St."), `"Illinois"` or `"IL"` (a state
  takes every jurisdiction in it: the state, its counties, its cities), or a
  Census FIPS code (`"17031"`; a 2-digit state code takes the whole state).
  A name without a state matches that name in any state.
- `keywords`: one of them appears, as whole words and in any case, in the story's
  title, its reasons, or the title or summary of one of its items.
- `min_score`: the story's score is at least this.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from watcher.config import Filter
from watcher.domain import Jurisdiction, Story


def place_key(name: str) -> str:
    """'Saint Paul', 'St. Paul' and 'ST PAUL' agree; 'City of Chicago' is 'Chicago'."""
    k = re.sub(r"[^A-Z0-9]+", " ", name.upper()).strip()
    k = re.sub(r"^(CITY|TOWN|VILLAGE) OF ", "", k)
    k = re.sub(r"\bSAINTE\b", "STE", k)
    return re.sub(r"\bSAINT\b", "ST", k)


def _state_abbr(text: str) -> str | None:
    import us  # the US states table; a dependency of the classifier already

    state = us.states.lookup(text.strip())
    return state.abbr if state is not None else None


@dataclass(frozen=True)
class PlaceSpec:
    """One entry of a filter's `jurisdictions`, parsed."""

    name_key: str | None  # None: the whole state
    state: str | None  # None: any state
    fips: str | None = None

    def matches(self, j: Jurisdiction) -> bool:
        if self.fips is not None:
            return j.fips == self.fips or (len(self.fips) == 2 and j.fips.startswith(self.fips))
        if self.state is not None and j.state.upper() != self.state:
            return False
        return self.name_key is None or place_key(j.name) == self.name_key


@functools.lru_cache(maxsize=4096)
def parse_place(text: str) -> PlaceSpec:
    text = text.strip()
    if text.isdigit():
        return PlaceSpec(None, None, text)
    if "," in text:
        name, _, state = text.rpartition(",")
        abbr = _state_abbr(state)
        if abbr is not None:
            return PlaceSpec(place_key(name), abbr)
    abbr = _state_abbr(text)
    if abbr is not None:
        return PlaceSpec(None, abbr)
    return PlaceSpec(place_key(text), None)


@functools.lru_cache(maxsize=4096)
def _keyword(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + re.escape(word.strip()) + r"(?!\w)", re.IGNORECASE)


def _texts(story: Story) -> list[str]:
    return [story.title, *story.reasons, *(r.title for r in story.items), *(r.summary for r in story.items)]


def matches(f: Filter, story: Story) -> bool:
    if story.score < f.min_score:
        return False
    if f.kinds and story.kind not in f.kinds:
        return False
    if f.jurisdictions:
        specs = [parse_place(t) for t in f.jurisdictions]
        if not any(s.matches(j) for s in specs for j in story.jurisdictions):
            return False
    if f.keywords:
        texts = _texts(story)
        if not any(_keyword(k).search(t) for k in f.keywords if k.strip() for t in texts):
            return False
    return True
