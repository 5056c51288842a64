"""Reading the lexicon's regular expressions: their alternatives, rewrites with the same matches, and
the literals every match must contain (gates). The machinery behind `matcher`.

Relies on `re._parser` (CPython's own regex parser) to read patterns; a pattern it
cannot read gets no gates and simply runs as it is.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from itertools import chain
from re import _constants as C  # type: ignore[attr-defined]
from re import _parser as P

_CAP = 48  # the most strings an exact set (or a gate) may hold
MAX_BRANCHES = 80
_MIN_LITERAL = 3  # gates with shorter strings are not worth testing
GLOBAL_FLAGS = re.compile(r"\(\?[aiLmsux]+\)")
UNSAFE_ESCAPE = re.compile(r"\\(?:[xuUN0-9]|[0-7])")
_QUANTIFIER = tuple("?*+{")
_B = "\x00"  # marks a \b in the strings a pattern matches
_WORD_START = re.compile(r"(\w{1,4})\w*")  # each word, its first 4 characters as the group
# \b, and ^ (after which a word character starts a word too)
_WORD_START_AT = (C.AT_BOUNDARY, C.AT_BEGINNING, C.AT_BEGINNING_LINE, C.AT_BEGINNING_STRING)
# $ (before which a word character ends a word too)
_WORD_END_AT = (C.AT_END, C.AT_END_LINE, C.AT_END_STRING)
_NON_WORD_CATEGORIES = (C.CATEGORY_SPACE, C.CATEGORY_NOT_WORD)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_LETTER_IGNORECASE = re.compile(r"[a-z]", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def _caseless_char(ch: str) -> bool:
    """A non-ASCII character that lower-cases to one non-ASCII character and matches no ASCII letter
    under re.IGNORECASE (unlike the Kelvin sign or the long s)."""
    low = ch.lower()
    return len(low) == 1 and not low.isascii() and not _ASCII_LETTER_IGNORECASE.match(ch)


def caseless(text: str) -> bool:
    """Whether a case-insensitive pattern finds in `text` exactly what its lower-cased form finds, at the
    same places, in `text.lower()`: true of ASCII text, and of text whose other characters are caseless
    in that sense (section signs, dashes, curly quotes, accented letters)."""
    return text.isascii() or all(map(_caseless_char, set(_NON_ASCII.findall(text))))


def lower_pattern(pattern: str) -> str:
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


# --- splitting a pattern into alternatives -------------------------------------------------


def _bare(src: str, i: int = 0) -> Iterator[tuple[int, str, int]]:
    """(index, character, group depth after it) of each character outside escapes and
    character classes, from src[i] on."""
    depth, in_class = 0, False
    while i < len(src):
        ch = src[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if src[i + 1 : i + 2] == "^":
                i += 1
            if src[i + 1 : i + 2] == "]":
                i += 1
        else:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            yield i, ch, depth
        i += 1


def _group_end(src: str, i: int) -> int:
    """The index of the `)` closing the group opened at src[i] == '('; -1 if unbalanced."""
    return next((j for j, ch, depth in _bare(src, i) if ch == ")" and depth == 0), -1)


def split_top(src: str) -> list[str]:
    """The top-level `|` alternatives of a pattern."""
    parts, start = [], 0
    for j, ch, depth in _bare(src):
        if ch == "|" and depth == 0:
            parts.append(src[start:j])
            start = j + 1
    parts.append(src[start:])
    return parts


def distribute(alt: str, budget: int) -> list[str]:
    """`\\b(?:a|b)rest` -> [`\\barest`, `\\bbrest`]: the same matches, each with a literal start; an optional
    group too: `\\b(?:a )?rest` -> [`\\ba rest`, `\\brest`] (not a possessive one, `(?:a )?+`, which gives
    up no `a` it took)."""
    lead = "\\b" if alt.startswith("\\b") else ""
    i = len(lead)
    if not alt.startswith("(?:", i):
        return [alt]
    j = _group_end(alt, i)
    if j < 0:
        return [alt]
    rest = alt[j + 1 :]
    optional = rest[:1] == "?" and rest[1:2] != "+"
    if optional:
        rest = rest[2:] if rest[1:2] == "?" else rest[1:]
    elif rest.startswith(_QUANTIFIER):
        return [alt]
    inner = split_top(alt[i + 3 : j]) + ([""] if optional else [])
    if len(inner) == 1:  # a group around the whole start: `(?:\\bx)rest` is `\\bxrest`
        return distribute(lead + inner[0] + rest, budget)
    if len(inner) > budget:
        return [alt]
    out: list[str] = []
    for a in inner:
        out.extend(distribute(lead + a + rest, max(1, budget // len(inner))))
    return out


def word_probe(words: str) -> str | None:
    """The word probe (see `_probe`) of `words` matched whole (`\\bAbbott\\b`, `\\bEd Lee\\b`), lower-cased:
    for the word starts of the lower-cased text, as `fold_probes` gives (ASCII texts)."""
    return _probe(_B + words.lower() + _B)


def word_alternation(words: list[str]) -> str:
    """`\\b(?:Abbott|Brown)` as `(?:A(?<=\\bA)bbott|B(?<=\\bB)rown)`: the same matches, but `re` skips
    to the possible first letters instead of trying every position. Words start with a word character."""
    return "(?:" + "|".join(f"{re.escape(w[0])}(?<=\\b{re.escape(w[0])}){re.escape(w[1:])}" for w in words) + ")"


def lead_rewrite(alt: str) -> str:
    """`\\bdetainers?` -> `detainer(?<=\\bdetainer)s?`: the same matches, but `re` can jump to the literal."""
    if not alt.startswith("\\b"):
        return alt
    j = 2
    while j < len(alt) and alt[j].isascii() and (alt[j].isalnum() or alt[j] == " "):
        j += 1
    if j < len(alt) and alt[j] in "?*+{":
        j -= 1  # a quantifier binds to the last character
    lit = alt[2:j]
    if not lit or not lit[0].isalnum():
        return alt
    return f"{lit}(?<=\\b{lit}){alt[j:]}"


# --- gates: literals every match must contain --------------------------------------------


def _node(op, av, lead: str = "") -> tuple[set[str] | None, list[frozenset[str]]]:
    """(the exact strings the node matches, if few and known; clauses every match satisfies).

    `lead` is `_B` when the node starts right after a `\\b`."""
    if op is C.LITERAL:
        return {chr(av)}, []
    if op is C.AT:
        return ({_B} if av in _WORD_START_AT or av in _WORD_END_AT else {""}), []
    if op in (C.ASSERT, C.ASSERT_NOT):
        return {""}, []
    if op is C.SUBPATTERN:
        return _seq(av[-1], lead)
    if op is C.IN:
        if len(av) <= 8 and all(o is C.LITERAL for o, _ in av):
            return {chr(v) for _, v in av}, []
        return None, []
    if op is C.BRANCH:
        subs = [_seq(b, lead) for b in av[1]]
        if all(e is not None for e, _ in subs):
            union = set().union(*(e for e, _ in subs))  # type: ignore[misc]
            if len(union) <= _CAP:
                return union, []
        picks: list[frozenset[str]] = []
        for e, clauses in subs:
            options = list(clauses) + ([frozenset(e)] if e is not None and not _has_empty(e) else [])
            if not options:
                return None, []
            picks.append(_best(options))
        merged = frozenset().union(*picks)
        return None, ([merged] if len(merged) <= _CAP else [])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        lo, hi, item = av
        e, clauses = _seq(item)
        first = _seq(item, lead)[0]  # the first repetition starts where the node does
        if e is not None and first is not None and hi <= 2:
            out, power = set(), {""}
            for k in range(hi + 1):
                if k >= lo:
                    out |= power
                power = {a + b for a in power for b in (first if k == 0 else e)}
            if len(out) <= _CAP:
                return out, []
        if lo >= 1:
            return None, clauses + ([frozenset(e)] if e is not None and not _has_empty(e) else [])
        return None, []
    return None, []


def _seq(items, lead: str = "") -> tuple[set[str] | None, list[frozenset[str]]]:
    """A sequence's exact strings and clauses (see `_node`). Where a run of exact strings ends at a node
    that starts with a non-word character, the run is marked as ending a word (`_B`); where one starts
    after a node that ends with one, as starting a word: what a following `\\b` would show."""
    items = list(items)
    clauses: list[frozenset[str]] = []
    run: set[str] = {lead}
    exact = True
    for k, (op, av) in enumerate(items):
        e, cl = _node(op, av, _B if all(r.endswith(_B) for r in run) else "")
        clauses.extend(cl)
        if e is not None and len(run) * len(e) <= _CAP:
            run = {a + b for a in run for b in e}
            continue
        exact = False
        clauses.append(frozenset(r + _B for r in run) if _opens(items[k:]) == _NON_WORD else frozenset(run))
        run = set(e) if e is not None else ({_B} if _closes_non_word(op, av) else {""})
    clauses.append(frozenset(run))
    return (run if exact else None), [c for c in clauses if c and not _has_empty(c)]


_NON_WORD, _EMPTY_OR_NON_WORD = "non-word", "empty or non-word"


def _opens(items) -> str | None:
    """How every match of a node sequence begins: `_NON_WORD` (with a non-word character, or at a `\\b` or
    `$` that ends a word before it), `_EMPTY_OR_NON_WORD` (so, or it is empty), or None (unknown)."""
    for op, av in items:
        if op is C.LITERAL:
            return None if _is_word(chr(av)) else _NON_WORD
        if op is C.IN:
            return _NON_WORD if _class_non_word(av) else None
        if op is C.AT:
            if av is C.AT_BOUNDARY or av in _WORD_END_AT:
                return _NON_WORD
            return None
        if op in (C.ASSERT, C.ASSERT_NOT):
            continue  # zero-width: what follows begins the match
        if op is C.SUBPATTERN:
            how = _opens(av[-1])
        elif op is C.BRANCH:
            hows = [_opens(b) for b in av[1]]
            how = None if None in hows else (_NON_WORD if all(h == _NON_WORD for h in hows) else _EMPTY_OR_NON_WORD)
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            lo, _, item = av
            how = _opens(item)
            if how is not None and lo == 0:
                how = _EMPTY_OR_NON_WORD
        else:
            return None
        if how != _EMPTY_OR_NON_WORD:
            return how
    return _EMPTY_OR_NON_WORD


def _closes_non_word(op, av) -> bool:
    """Whether every match of the node is not empty and ends with a non-word character."""
    if op is C.LITERAL:
        return not _is_word(chr(av))
    if op is C.IN:
        return _class_non_word(av)
    if op is C.SUBPATTERN:
        items = [(o, a) for o, a in av[-1] if o not in (C.ASSERT, C.ASSERT_NOT)]
        return bool(items) and _closes_non_word(*items[-1])
    if op is C.BRANCH:
        return all(bool(b) and _closes_non_word(C.SUBPATTERN, (None, 0, 0, b)) for b in av[1])
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
        lo, _, item = av
        return lo >= 1 and _closes_non_word(C.SUBPATTERN, (None, 0, 0, item))
    return False


def _class_non_word(items) -> bool:
    """Whether a character class holds non-word characters only."""
    for op, av in items:
        if op is C.LITERAL:
            if _is_word(chr(av)):
                return False
        elif op is C.CATEGORY:
            if av not in _NON_WORD_CATEGORIES:
                return False
        elif op is C.RANGE:
            lo, hi = av
            if hi - lo > 255 or any(_is_word(chr(c)) for c in range(lo, hi + 1)):
                return False
        else:  # NEGATE and the rest
            return False
    return True


def _has_empty(strings) -> bool:
    return any(not s.replace(_B, "") for s in strings)


def _clean(s: str) -> str:
    return s.replace(_B, "")


def _best(options: list[frozenset[str]]) -> frozenset[str]:
    return max(options, key=lambda c: (min(len(_clean(s)) for s in c), -len(c)))


def _probe(marked: str, common: frozenset[str] = frozenset()) -> str | None:
    """The first 4 characters of a word the text must contain, if the literal shows a word start; a word of
    3 characters or fewer when the literal shows its end too (what `word_starts` holds of the text's words).

    A word starts where a word character follows `\\b` or a non-word character of the literal.
    The longest word is taken (likely the rarest), unless its probe is in `common` and another word's is not.
    """
    found = _probes(marked, common)
    return max(found, key=found.__getitem__, default=None)


def _probes(marked: str, common: frozenset[str] = frozenset()) -> dict[str, tuple[bool, int, int]]:
    """Every probe the literal shows (see `_probe`), each with its rank: the best is the greatest."""
    found: dict[str, tuple[bool, int, int]] = {}
    for i in range(1, len(marked)):
        if _is_word(marked[i]) and (marked[i - 1] == _B or not _is_word(marked[i - 1])):
            j = i
            while j < len(marked) and _is_word(marked[j]):
                j += 1
            probe = marked[i : min(j, i + 4)]
            rank = (probe not in common, j - i, -i)  # not common, the longest word, the first
            if (j - i > 3 or j < len(marked)) and rank[:2] > (False, 2) and rank > found.get(probe, rank[:2]):
                found[probe] = rank
    return found


def _is_word(ch: str) -> bool:
    return ch != _B and (ch.isalnum() or ch == "_")


def _implies(p: str | None, q: str | None) -> bool:
    """Whether a word the probe `p` finds in the text means one `q` finds: only the same probe (one of 4
    characters finds the words starting so, one of 3 only that word)."""
    return p is not None and p == q


class _TokenStarts(dict):
    """token -> the word starts of its words (see `word_starts`), worked out on a token's first use.

    A token is a run of non-space characters ("sanctuary", "(ice)", "u.s.-mexico"): a bounded vocabulary,
    like `place_index._WORDS`; past `_TOKEN_CAP` tokens new ones are worked out each time, not kept."""

    def __missing__(self, token: str) -> tuple[str, ...]:
        starts = tuple(_WORD_START.findall(token))
        if len(self) < _TOKEN_CAP:
            self[token] = starts
        return starts


_TOKEN_CAP = 100_000
_token_starts = _TokenStarts().__getitem__


def word_starts(text: str) -> set[str]:
    """The first 4 characters of every word of `text` (the word itself when shorter): what `_probe` keys are
    looked up in.

    The union of the word starts of the text's tokens (`str.split()`): a word (a run of `\\w` characters)
    never holds a space character, so every word of the text is a word of one token, whole. Most tokens
    have been seen before: a look-up each, where the regex finding every word (the set's former source)
    costs about twice as much per text."""
    return set(chain.from_iterable(map(_token_starts, text.split())))


Gate = tuple[tuple[tuple[str, "str | None"], ...], ...]


def gates(
    source: str, flags: int = re.MULTILINE, common: frozenset[str] = frozenset(), shortest: int = _MIN_LITERAL
) -> Gate:
    """Clauses every match of `source` satisfies: a clause holds when one of its literals is in the text.

    Each literal comes with its probe (see `_probe`; `common`: probes to avoid), or None. Clauses
    with a literal shorter than `shortest` are left out (not worth testing).
    """
    try:
        _, clauses = _seq(P.parse(source, flags))
    except Exception:  # noqa: BLE001 - an unparseable pattern is simply always run
        return ()
    good: dict[frozenset[str], tuple[tuple[str, str | None], ...]] = {}
    for c in clauses:
        lits, entry = _clause(c, common)
        if len(lits) > 16:  # too many to test: the last words they end with, fewer, serve as well
            lits, entry = _clause(frozenset(map(_last_word, c)), common)
        if len(lits) > 16 or min(map(len, lits)) < shortest:
            continue
        entry = _common_start(entry)
        good.setdefault(frozenset(x for x, _ in entry), entry)
    ranked = sorted(good.values(), key=_clause_rank)
    return tuple(ranked[:3])


def _common_start(entry: tuple[tuple[str, str | None], ...]) -> tuple[tuple[str, str | None], ...]:
    """A clause of literals that start alike and share their probe ("sanctuary city", "sanctuary-",
    "sanctuary' "...) as the one literal they start with ("sanctuary"): one scan of the text where each
    literal took one, and the pattern's own search looks at what follows. Kept as it is when the common
    start is shorter than 4 characters."""
    if len(entry) < 2 or len({probe for _, probe in entry}) > 1:
        return entry
    start = os.path.commonprefix([x for x, _ in entry])
    return ((start, entry[0][1]),) if len(start) >= 4 else entry


def _clause_rank(c: tuple[tuple[str, str | None], ...]) -> tuple:
    """Clauses in the order worth testing: those whose literals all have probes, then those whose probes are
    words of three characters or more (one of one or two is likely a common word: "of", "to"), then the
    fewest literals, then the longest."""
    return (sum(p is None for _, p in c), sum(p is not None and len(p) < 3 for _, p in c), len(c),
            -min(len(x) for x, _ in c), c)


def _clause(c: frozenset[str], common: frozenset[str]) -> tuple[list[str], tuple[tuple[str, str | None], ...]]:
    """The literals of a clause of marked strings (those standing for longer ones left out), and the
    clause as a gate's: each literal with its probe (see `gates`)."""
    shown: dict[str, dict[str, tuple[bool, int, int]]] = {}  # literal -> the probes each of its spellings shows
    for marked in c:
        lit, found = _clean(marked), _probes(marked, common)
        shown[lit] = found if lit not in shown else _shared_probes(shown[lit], found)
    lits = [x for x in shown if not any(y != x and y in x for y in shown)]  # the shorter suffices
    # a literal that stands for longer ones takes the best probe they all show; when they show none in
    # common but each shows one, a few are kept with their own ("pew" with "pew", "pews" with "pews")
    entries: dict[str, str | None] = {}
    for x in lits:
        covered = {y: found for y, found in shown.items() if x in y}
        common_to_all = functools.reduce(_shared_probes, covered.values())
        if not common_to_all and len(covered) <= 4 and all(covered.values()):
            entries.update((y, max(found, key=found.__getitem__)) for y, found in covered.items())
        else:
            entries[x] = max(common_to_all, key=common_to_all.__getitem__, default=None)
    return lits, tuple(sorted(entries.items(), key=lambda e: (-len(e[0]), e[0])))


def _shared_probes(a: dict[str, tuple[bool, int, int]], b: dict[str, tuple[bool, int, int]]) -> dict:
    """The probes both spellings show, each with the lower of its ranks."""
    return {p: min(r, b[p]) for p, r in a.items() if p in b}


def _last_word(marked: str) -> str:
    """The end of a marked string from the space before its last word ("a day ago" -> " ago"), a part of
    every text the string is in; the string itself when that word is shorter than three characters."""
    i = marked.rfind(" ")
    return marked[i:] if i > 0 and len(_clean(marked[i + 1 :])) >= 3 else marked


def fold_probes(clauses: Gate) -> Gate:
    """A case-sensitive pattern's gate for the word starts of the lower-cased text: each probe lower-cased.

    On an ASCII text, lower-casing keeps every character where it is and a word character a word
    character, so the words of the text are those of the lower-cased text, lower-cased. (A literal that
    is not ASCII cannot be in an ASCII text: whatever its probe, its gate fails, as the pattern does.)"""
    return tuple(tuple((lit, probe if probe is None else probe.lower()) for lit, probe in c) for c in clauses)


def passes(clauses: Gate, text: str, starts: set[str] | None = None) -> bool:
    """Whether `text` satisfies every clause; `starts` is `word_starts(text)` when the caller has it."""
    for clause in clauses:
        for lit, probe in clause:
            if (starts is None or probe is None or probe in starts) and lit in text:
                break
        else:
            return False
    return True


_INLINE_FLAGS = re.compile(r"\(\?[aiLmsux-]*(?:[:)])")
_UNICODE_SPACE_ASCII = "\\x1c-\\x1f"  # the ASCII characters Unicode `\\s` matches and ASCII `\\s` does not


def ascii_twin(source: str, flags: int = 0) -> re.Pattern[str] | None:
    """`re.compile(source, flags)` for ASCII texts: the same matches, at the same places, in any ASCII text;
    None when that is not sure (`re.ASCII` or `re.LOCALE` asked for, or inline flags that set them).

    Compiled with `re.ASCII`, whose `\\w`, `\\b`, `\\d` and `\\s` are table look-ups: Unicode ones call
    the Unicode database for every character tested (most of the cost of a `\\b` or `\\w*`). On ASCII
    characters the two agree, except that Unicode `\\s` also matches the separators U+001C..U+001F: every
    `\\s` gets them back (`[\\s\\x1c-\\x1f]`), and a `\\S` in a character class makes the pattern
    unsure. Case-insensitive matching agrees on ASCII text when the pattern itself is ASCII (the Kelvin
    sign in a pattern matches "k" only under Unicode rules)."""
    if flags & (re.ASCII | re.LOCALE):
        return None
    flags &= ~re.UNICODE  # the default of str patterns (in a compiled pattern's `flags`), and not ASCII's
    inline = "".join(_INLINE_FLAGS.findall(source))
    if any(f in inline for f in "aLu"):
        return None
    if not source.isascii() and (flags & re.IGNORECASE or "i" in inline):
        return None
    out: list[str] = []
    i, in_class = 0, False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            esc = source[i : i + 2]
            if esc == "\\s":
                out.append(_UNICODE_SPACE_ASCII + esc if in_class else f"[{_UNICODE_SPACE_ASCII}{esc}]")
            elif esc == "\\S":
                if in_class:
                    return None
                out.append(f"[^{_UNICODE_SPACE_ASCII}\\s]")
            else:
                out.append(esc)
            i += 2
            continue
        out.append(ch)
        i += 1
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            for lead in "^]":  # a leading "^", then a leading "]", belong to the class
                if source[i : i + 1] == lead:
                    out.append(lead)
                    i += 1
    try:
        return re.compile("".join(out), flags | re.ASCII)
    except (re.error, ValueError):
        return None


def scanner(source: str, flags: int = re.MULTILINE) -> re.Pattern[str]:
    """`source` compiled for finditer with each top-level alternative's leading `\\b` moved behind its first
    literal: the same matches in the same order, found without trying every position."""
    if GLOBAL_FLAGS.search(source):
        return re.compile(source, flags)
    return re.compile("|".join(lead_rewrite(a) for a in split_top(source)), flags)


def lead_group_rewrite(src: str) -> str:
    """`\\b(?:sb|senate bill)x` -> `(?:s(?<=\\bs)b|s(?<=\\bs)enate bill)x`: the same matches, in the same order."""
    if src.startswith("\\b(?:"):
        j = _group_end(src, 2)
        if j > 0 and not src[j + 1 : j + 2].startswith(_QUANTIFIER):
            alts = split_top(src[5:j])
            if all(a[:1].isascii() and a[:1].isalnum() and not a[1:2].startswith(_QUANTIFIER) for a in alts):
                return "(?:" + "|".join(f"{a[0]}(?<=\\b{a[0]}){a[1:]}" for a in alts) + ")" + src[j + 1 :]
    return lead_rewrite(src)
