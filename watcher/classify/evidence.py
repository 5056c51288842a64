"""Evidence a reader and the story clusterer can use: actors, legal references, dollar amounts."""

from __future__ import annotations

import re

from watcher.classify.rules import lexicon


_SPACES = re.compile(r"\s+")


def _unique(items: list[str]) -> tuple[str, ...]:
    """The items, spaces collapsed, each once (case aside), in order."""
    seen: dict[str, None] = {}
    lowered: set[str] = set()  # the lower-cased items kept
    for i in items:
        i = _SPACES.sub(" ", i).strip(" ,.")
        if i and i.lower() not in lowered:
            seen[i] = None
            lowered.add(i.lower())
    return tuple(seen)


def actors(text: str, lowered: str | None = None, starts: set[str] | None = None) -> tuple[str, ...]:
    """`lowered`: `text.lower()`; `starts`: its `word_starts`, when the caller has them."""
    lex = lexicon()
    lowered = text.lower() if lowered is None else lowered
    found = [name for name, rx in lex.actors if rx.test(text, lowered, starts)]
    for rx in lex.courts:
        found.extend(m.group(0) for m in rx.finditer(text, lowered, starts))
    return _unique(found)


def legal_refs(text: str, lowered: str | None = None, starts: set[str] | None = None) -> tuple[str, ...]:
    """`lowered`: `text.lower()`; `starts`: its `word_starts`, when the caller has them."""
    found = []
    lowered = text.lower() if lowered is None else lowered
    for form, rx in lexicon().legal_refs:
        for m in rx.finditer(text, lowered, starts):
            value = next((g for g in m.groups() if g), m.group(0))
            found.append(form.format(value))
    return _unique(found)


def amounts(text: str) -> tuple[str, ...]:
    return _unique([m.group(0).replace("$ ", "$") for m in lexicon().amount.finditer(text)])


def programs(text: str, lowered: str | None = None, starts: set[str] | None = None) -> tuple[str, ...]:
    """`lowered`: `text.lower()`; `starts`: its `word_starts`, when the caller has them."""
    return _unique([name for name, rx in lexicon().programs if rx.test(text, lowered, starts)])
