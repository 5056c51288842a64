"""Where a text may name a gazetteer place: the spans of its capitalised-word runs worth looking up.

A run of capitalised words ("Santa Clara County", "City of El Cenizo") holds many
sub-spans; only those whose words spell a gazetteer name can name a place. The
gazetteer's keys, with every "SAINT"/"SAINTE" word read as "ST"/"STE", and all
their word prefixes, are indexed once; a run is walked word by word from each
start and stops as soon as no name starts so. The walk only filters: the spans
it keeps are a superset of those whose exact key (`place_key`) names a place,
and the caller looks each up exactly as before.
"""

from __future__ import annotations

import functools
import re

from watcher.classify.rules import gazetteer, place_key

# a capitalised word, or "St.", "Ft.", "Mt." (`(?:St|Ft|Mt)\.|[A-Z][A-Za-z-]*...`, the same matches): written
# to start with its capital letter so that `re` skips from one capital letter to the next
_TOKEN = r"[A-Z](?:(?<=[SFM])t\.|[A-Za-z-]*(?:['’](?!s\b)[A-Za-z]+)?)"
# a maximal run of capitalised words joined by a space or " of ", " de ", " la ", " del "
# (the same words `_TOKEN.finditer` finds, grouped where the gap between two is such a joiner)
RUN = re.compile(_TOKEN + r"(?:(?: | of | de | la | del )" + _TOKEN + r")*")
MAX_SPAN = 5
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_JOINER_KEYS = {"of": "OF", "de": "DE", "la": "LA", "del": "DEL"}


def canon(key: str) -> str:
    """A key with every SAINT / SAINTE word as ST / STE (`place_key` may leave one of two adjacent)."""
    if "SAINT" not in key:
        return key
    return "_".join("ST" if w == "SAINT" else "STE" if w == "SAINTE" else w for w in key.split("_"))


@functools.cache
def index() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(all canonical keys, canonical county keys, every word prefix of a canonical key)."""
    g = gazetteer()
    keys = frozenset(canon(k) for d in (g.states, g.counties, g.places) for k in d)
    counties = frozenset(canon(k) for k in g.counties)
    prefixes: set[str] = set()
    for k in keys:
        words = k.split("_")
        for n in range(1, len(words) + 1):
            prefixes.add("_".join(words[:n]))
    return keys, counties, frozenset(prefixes)


@functools.cache
def first_segments() -> frozenset[str]:
    """The first `_` segment of every gazetteer key: a span whose key starts otherwise names no place."""
    g = gazetteer()
    return frozenset(k.split("_", 1)[0] for d in (g.states, g.counties, g.places) for k in d) | {"COUNTY"}


# word -> (canonical key, whether a place name may start with it (`first_segments`), whether its key
# holds a SAINT/SAINTE word, whether the walk starts at it: it may start a name and its key starts a key)
_WORDS: dict[str, tuple[str, bool, bool, bool]] = {}


def _word(word: str) -> tuple[str, bool, bool, bool]:
    """What the walk needs of one capitalised word ("St." -> "ST", "Winston-Salem" -> "WINSTON_SALEM")."""
    w = _WORDS.get(word)
    if w is None:
        raw = _NON_ALNUM.sub("_", word.upper()).strip("_")
        k = canon(raw)
        viable = place_key(word).split("_", 1)[0] in first_segments()
        w = (k, viable, k != raw, viable and k in index()[2])
        if len(_WORDS) < 100_000:
            _WORDS[word] = w
    return w


def candidate_spans(text: str) -> list[tuple[int, int, int, str | None]]:
    """The spans that may name a place, run by run, longest first, then leftmost: (start, end, number of
    words, `place_key` of the span or None when it must be computed).

    A span is kept when its first word may start a place name and its canonical key is a gazetteer
    key, or it reads "County of X..." and "X... County" is a county key; no other span names a place."""
    keys, counties, prefixes = index()
    out: list[tuple[int, int, int, str | None]] = []
    words = _WORDS
    end = 0
    for s in RUN.findall(text):
        # where this run starts: the next capital letter after the last run, which find() reaches
        # (every occurrence of the run starts with a capital letter, where a run starts)
        start = text.find(s, end)
        end = start + len(s)
        if " " not in s:
            k, viable, saint, _ = words.get(s) or _word(s)
            if viable and k in keys:
                out.append((start, end, 1, None if saint else k))
            continue
        # words of the run: capitalised ones are tokens, lower-case ones the joiner before the next token
        parts = s.split(" ")
        infos = [words.get(w) or _word(w) for w in parts if w not in _JOINER_KEYS]
        for info in infos:
            if info[3] or info[0] == "COUNTY":
                break
        else:
            continue  # no name starts in this run ("County of X" is read from X on)
        starts: list[int] = []
        ends: list[int] = []
        joined: list[str] = []  # the key of each token with the joiner before it ("OF_BAR")
        pos = start
        pending = ""
        for w in parts:
            if w in _JOINER_KEYS:
                pending = _JOINER_KEYS[w]
            else:
                starts.append(pos)
                ends.append(pos + len(w))
                k = infos[len(joined)][0]
                joined.append(pending + "_" + k if pending else k)
                pending = ""
            pos += len(w) + 1
        n = len(infos)
        found: dict[tuple[int, int, int], str | None] = {}
        for i in range(n):
            k, _, saint, begins = infos[i]
            if not begins:
                continue
            if k in keys:
                found[(-1, i, i)] = None if saint else k
            for j in range(i + 1, min(n, i + MAX_SPAN)):
                k = k + "_" + joined[j]
                if k not in prefixes:
                    break
                saint = saint or infos[j][2]
                if k in keys:
                    found[(i - j - 1, i, j)] = None if saint else k
        # "County of X Y" is looked up as "X Y County"
        for i in range(n - 2):
            if infos[i][0] == "COUNTY" and joined[i + 1].startswith("OF_") and text.startswith("County of ", starts[i]):
                k = infos[i + 1][0]
                for j in range(i + 2, min(n, i + MAX_SPAN)):
                    k = k + "_" + joined[j]
                    if k not in prefixes:
                        break
                    if k + "_COUNTY" in counties:
                        found.setdefault((i - j - 1, i, j), None)
        for neg, i, j in sorted(found):
            out.append((starts[i], ends[j], -neg, found[(neg, i, j)]))
    return out
