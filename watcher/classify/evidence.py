"""Evidence a reader and the story clusterer can use: actors, legal references, dollar amounts."""

from __future__ import annotations

import re

from watcher.classify.rules import lexicon


def _unique(items: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for i in items:
        i = re.sub(r"\s+", " ", i).strip(" ,.")
        if i and i.lower() not in {s.lower() for s in seen}:
            seen[i] = None
    return tuple(seen)


def actors(text: str) -> tuple[str, ...]:
    lex = lexicon()
    found = [name for name, rx in lex.actors if rx.search(text)]
    for rx in lex.courts:
        found.extend(m.group(0) for m in rx.finditer(text))
    return _unique(found)


def legal_refs(text: str) -> tuple[str, ...]:
    found = []
    for form, rx in lexicon().legal_refs:
        for m in rx.finditer(text):
            value = next((g for g in m.groups() if g), m.group(0))
            found.append(form.format(value))
    return _unique(found)


def amounts(text: str) -> tuple[str, ...]:
    return _unique([m.group(0).replace("$ ", "$") for m in lexicon().amount.finditer(text)])


def programs(text: str) -> tuple[str, ...]:
    return _unique([name for name, rx in lexicon().programs if rx.search(text)])
