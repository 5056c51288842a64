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
  Places are resolved to FIPS codes through the gazetteer (`places.py`) and
  matched by code, so "Cook County, IL" takes a story that names Cook County
  however it was spelled; config load refuses a place the gazetteer does not
  know. A name without a state matches that name in any state.
- `keywords`: one of them appears, as whole words and in any case, in the story's
  title, its reasons, or the title or summary of one of its items.
- `min_score`: the story's score is at least this.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from watcher.config import Filter
from watcher.deliver.places import place_key, resolve, state_code
from watcher.domain import Jurisdiction, Story

__all__ = ["PlaceSpec", "explain", "matches", "parse_place", "place_key"]


@dataclass(frozen=True)
class PlaceSpec:
    """One entry of a filter's `jurisdictions`, parsed: a FIPS code when the gazetteer knows the
    place (config load refuses places it does not), else a name and state compared as text."""

    name_key: str | None  # None: the whole state
    state: str | None  # None: any state
    fips: str | None = None

    def matches(self, j: Jurisdiction) -> bool:
        if self.fips is not None and j.fips:
            return j.fips == self.fips or (len(self.fips) == 2 and j.fips.startswith(self.fips))
        if self.state is not None and j.state.upper() != self.state:
            return False
        return self.name_key is None or place_key(j.name) == self.name_key


@functools.lru_cache(maxsize=4096)
def parse_place(text: str) -> PlaceSpec:
    text = text.strip()
    fips = resolve(text)
    if text.isdigit():
        return PlaceSpec(None, None, text)
    if "," in text:
        name, _, state = text.rpartition(",")
        abbr = state_code(state)
        if abbr is not None:
            return PlaceSpec(place_key(name), abbr, fips)
    abbr = state_code(text)
    if abbr is not None:
        return PlaceSpec(None, abbr, fips)
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


def explain(f: Filter, story: Story) -> list[str]:
    """Which parts of a filter a story met, for a person: "why this matched". Empty for an empty filter."""
    why: list[str] = []
    if f.kinds:
        why.append(f"kind is {story.kind}")
    if f.jurisdictions:
        hits = [t for t in f.jurisdictions if any(parse_place(t).matches(j) for j in story.jurisdictions)]
        if hits:
            why.append("names " + ", ".join(hits))
    if f.keywords:
        texts = _texts(story)
        words = [k for k in f.keywords if k.strip() and any(_keyword(k).search(t) for t in texts)]
        if words:
            why.append("mentions " + ", ".join(f'"{w}"' for w in words))
    if f.min_score:
        why.append(f"score {story.score:.2f} ≥ {f.min_score:.2f}")
    return why
