"""Fast regex matching for the lexicon's patterns, with exactly the answers of plain `re`.

Python's `re` tries a pattern at every position of the text unless the pattern
starts with a literal; most lexicon patterns start with `\\b` or an alternation
and so cost ~15 ns per character per pattern. A `Matcher` answers
`bool(regex.search(text))` much faster, without changing the answer
(`pattern_analysis` does the reading of the patterns):

* the pattern is split into alternatives (its top-level `|` branches, and a
  leading `(?:a|b)` group distributed over the rest): the pattern matches exactly
  when one alternative does;
* each alternative carries *gates*: sets of literal strings of which every match
  contains at least one (derived from the parsed pattern). A gate that finds none
  of its strings in the text proves there is no match, at the cost of a few
  `str in str` tests, or of set look-ups of the first letters of the text's words
  ("word probes") when the literal must start a word;
* a leading `\\b` is moved behind the literal that follows (`\\bdetainer` ->
  `detainer(?<=\\bdetainer)`, the same matches) so `re` can jump to the literal.

A `MatcherSet` tests many matchers on one text, trying only the alternatives
whose word probes the text holds; a `Finder` gives `finditer`'s matches, skipped
when a gate fails. Patterns it cannot analyse simply run as they are.
"""

from __future__ import annotations

import functools
import re
import types

from watcher.classify.pattern_analysis import (
    GLOBAL_FLAGS,
    MAX_BRANCHES,
    UNSAFE_ESCAPE,
    Gate,
    ascii_twin,
    caseless,
    distribute,
    fold_probes,
    gates,
    lead_group_rewrite,
    lead_rewrite,
    lower_pattern,
    scanner,
    split_top,
    word_alternation,
    word_probe,
    word_starts,
)

__all__ = ["Finder", "IndexedMatcher", "Matcher", "MatcherSet", "WordsFinder", "caseless", "lower_pattern",
           "scanner", "word_alternation", "word_starts"]


def alternatives(
    source: str, flags: int = re.MULTILINE, common: frozenset[str] = frozenset()
) -> list[tuple[Gate, LazyRegex]] | None:
    """The gated, rewritten alternatives of a case-sensitive pattern; None if it must run as it is.

    `common`: word probes most texts tested hold, to index by others when there are (see `gates`)."""
    if GLOBAL_FLAGS.search(source) or UNSAFE_ESCAPE.search(source) or "(?P" in source:
        return None
    parts: list[str] = []
    for alt in split_top(source):
        parts.extend(distribute(alt, MAX_BRANCHES))
    if len(parts) > MAX_BRANCHES:
        parts = split_top(source)
    return [(gates(p, flags, common), LazyRegex(lead_rewrite(p), flags)) for p in parts]


class LazyRegex:
    """A regex compiled on its first search: most alternatives never pass their gates. `compiled_ascii`:
    its twin for ASCII texts (`ascii_twin`), compiled on its first search too."""

    __slots__ = ("_ascii", "_rx", "flags", "source")

    def __init__(self, source: str, flags: int) -> None:
        self.source, self.flags, self._rx, self._ascii = source, flags, None, None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._rx is None:
            self._rx = re.compile(self.source, self.flags)
        return self._rx

    @property
    def compiled_ascii(self) -> re.Pattern[str]:
        if self._ascii is None:
            self._ascii = ascii_twin(self.source, self.flags) or self.compiled
        return self._ascii

    def search(self, text: str) -> re.Match[str] | None:
        return (self._rx or self.compiled).search(text)


class Matcher:
    """`bool(re.compile(source, flags).search(text))`, answered fast (see the module doc).

    With `ignorecase`, an ASCII text is matched lower-cased against the lower-cased
    pattern (the same answers for ASCII); any other text runs the original regex.
    A case-sensitive pattern's word probes are looked up lower-cased (`fold_probes`) in the word
    starts of the lower-cased text, when the text is ASCII: the word starts callers have.
    """

    __slots__ = ("branches", "common", "ignorecase", "probed", "probed_ascii", "quick", "quick_ascii", "regex")

    def __init__(
        self, source: str, ignorecase: bool = False, flags: int = re.MULTILINE, common: frozenset[str] = frozenset()
    ) -> None:
        self.regex = re.compile(source, flags | (re.IGNORECASE if ignorecase else 0))
        self.ignorecase = ignorecase or "(?i" in source
        self.common = common
        if self.ignorecase and not ignorecase:  # inline (?i:...): keep the regex as it is
            self.branches = None
        else:
            self.branches = alternatives(lower_pattern(source) if ignorecase else source, flags, common)
        # the branches with their gates, as one generated test (`_any_fn`): without probes, for texts whose
        # word starts are not known (`quick`), and with them (`probed`), each with a twin for ASCII texts
        # (`_ascii`, searching with `ascii_twin`s); each pair compiled on the first call of one of them,
        # as many matchers are only ever tested within a `MatcherSet`
        self.quick = self.probed = self.quick_ascii = self.probed_ascii = None
        if self.branches is not None:
            for probes, attrs in ((False, ("quick", "quick_ascii")), (True, ("probed", "probed_ascii"))):
                build = functools.partial(self._build, probes, attrs)
                for attr in attrs:
                    setattr(self, attr, _deferred(self, attr, build))

    def _build(self, probes: bool, attrs: tuple[str, str]) -> None:
        branches = self.branches
        if probes and not self.ignorecase:  # the probes of the lower-cased text's word starts
            branches = [(fold_probes(clauses), rx) for clauses, rx in branches]  # type: ignore[union-attr]
        for attr, fn in zip(attrs, _any_fn(branches, probes)):  # type: ignore[arg-type]
            setattr(self, attr, fn)

    def test(self, text: str, lowered: str | None = None, starts: set[str] | None = None) -> bool:
        """Whether the pattern matches `text`. `starts`: `word_starts(lowered)`, if known (a case-sensitive
        pattern uses them on an ASCII text only, where lower-casing moves no word)."""
        if self.branches is None:
            return self.regex.search(text) is not None
        if self.ignorecase:
            if not caseless(text):
                return self.regex.search(text) is not None
            text = lowered if lowered is not None else text.lower()
        elif starts is not None and not text.isascii():
            starts = None
        if text.isascii():
            return (self.quick_ascii if starts is None else self.probed_ascii)(text, starts)  # type: ignore[misc]
        return (self.quick if starts is None else self.probed)(text, starts)  # type: ignore[misc]


class Finder:
    """`re.compile(source, flags).finditer(text)`, the same matches found faster.

    Skipped when the text lacks a literal every match needs. With `ignorecase`, an
    ASCII text is searched lower-cased with the lower-cased pattern (the same spans),
    its leading `\\b` moved behind the first letter; groups are read from the text.
    """

    __slots__ = ("clauses", "gate", "ignorecase", "lowered_ascii", "lowered_regex", "probed_gate", "regex",
                 "regex_ascii")

    def __init__(self, source: str, ignorecase: bool = False, flags: int = re.MULTILINE) -> None:
        self.regex = re.compile(source, flags | (re.IGNORECASE if ignorecase else 0))
        self.regex_ascii = ascii_twin(source, self.regex.flags) or self.regex  # for ASCII texts
        self.ignorecase = ignorecase or "(?i" in source
        ok = not (GLOBAL_FLAGS.search(source) or UNSAFE_ESCAPE.search(source))
        # a finditer costs a scan of the text: even two-character literals are worth testing first
        self.clauses = gates(lower_pattern(source) if self.ignorecase else source, flags, shortest=2) if ok else ()
        self.gate = _gate_fn(self.clauses, probes=False)  # `passes(self.clauses, t)`, compiled
        # `passes(self.clauses, t, s)`, compiled; a case-sensitive finder's probes lower-cased (see `Matcher`)
        self.probed_gate = _gate_fn(self.clauses if self.ignorecase else fold_probes(self.clauses))
        self.lowered_regex = self.lowered_ascii = None
        if ok and ignorecase and "(?P" not in source:
            self.lowered_regex = re.compile(lead_group_rewrite(lower_pattern(source)), flags)
            self.lowered_ascii = ascii_twin(self.lowered_regex.pattern, flags) or self.lowered_regex

    def finditer(self, text: str, lowered: str | None = None, starts: set[str] | None = None):
        """`lowered`: `text.lower()`; `starts`: its `word_starts` (or a superset), when the caller has them
        (a case-sensitive finder uses them on an ASCII text only, as a `Matcher` does)."""
        if self.clauses:
            if not self.ignorecase:
                if not (self.gate(text, None) if starts is None or not text.isascii() else self.probed_gate(text, starts)):
                    return iter(())
            elif caseless(text):
                low = lowered if lowered is not None else text.lower()
                if not (self.gate(low, None) if starts is None else self.probed_gate(low, starts)):
                    return iter(())
        if self.lowered_regex is not None and caseless(text):
            low = lowered if lowered is not None else text.lower()
            rx = self.lowered_ascii if low.isascii() else self.lowered_regex
            return [Found(text, m) for m in rx.finditer(low)]  # type: ignore[union-attr]
        return (self.regex_ascii if text.isascii() else self.regex).finditer(text)


class WordsFinder:
    """`re.compile("(" + word_alternation(words) + r")\\b" + tail).finditer(text)`: whole words (names) found in
    a text, skipped when none of them can be in it.

    Each word (as written, case and all) must be in the text, and the word start of one of its words
    (`word_probe`) must be among those of the lower-cased text: a set intersection finds the few words
    worth looking for, where the regex tries every capital letter of the text."""

    __slots__ = ("by_probe", "probes", "regex", "regex_ascii", "unprobed")

    def __init__(self, words: list[str], tail: str = "") -> None:
        self.regex = re.compile("(" + word_alternation(words) + r")\b" + tail)
        self.regex_ascii = ascii_twin(self.regex.pattern) or self.regex
        self.by_probe: dict[str, list[str]] = {}
        self.unprobed: list[str] = []
        for w in words:
            probe = word_probe(w)
            if probe is None:
                self.unprobed.append(w)
            else:
                self.by_probe.setdefault(probe, []).append(w)
        self.probes = frozenset(self.by_probe)

    def finditer(self, text: str, starts: set[str] | None = None):
        """`starts`: `word_starts(text.lower())` (or a superset), when the caller has them (used on an ASCII
        text only, where lower-casing moves no word)."""
        if not text.isascii():
            return self.regex.finditer(text)
        if starts is None:
            return self.regex_ascii.finditer(text)
        first = self._first(text, starts)
        # no match starts before the first of the words the text holds (the regex still reads the text
        # before it, for the `\\b` and lookbehinds)
        return iter(()) if first < 0 else self.regex_ascii.finditer(text, first)

    def _first(self, text: str, starts: set[str]) -> int:
        """Where the first of the words the text can hold is (the words whose probe it has), or -1."""
        first = -1
        for probe in starts & self.probes:  # most texts hold none of them
            for w in self.by_probe[probe]:
                at = text.find(w)
                if at >= 0 and (first < 0 or at < first):
                    first = at
        for w in self.unprobed:
            at = text.find(w)
            if at >= 0 and (first < 0 or at < first):
                first = at
        return first


class Found:
    """A match found in the lower-cased copy of a text, read from the text itself."""

    __slots__ = ("_m", "_text")

    def __init__(self, text: str, m: re.Match[str]) -> None:
        self._text, self._m = text, m

    def group(self, i: int = 0) -> str | None:
        a, b = self._m.span(i)
        return None if a < 0 else self._text[a:b]

    def groups(self) -> tuple[str | None, ...]:
        return tuple(self.group(i) for i in range(1, self._m.re.groups + 1))

    def span(self, i: int = 0) -> tuple[int, int]:
        return self._m.span(i)


class MatcherSet:
    """Many matchers tested on one text at once: which of them match.

    Each alternative with a gate clause whose literals all have word probes (see
    `_probe`) is indexed by the probes of one such clause; only the alternatives with a probe among the text's word
    starts are tried, so a text costs in proportion to what it contains, not
    to the size of the lexicon. The answers are those of each `Matcher.test`.
    The text given is the one the alternatives run on: lower-cased for `ignorecase` matchers.

    The alternatives under one probe are tried by one generated function (`_compile`): their gates
    inlined, a literal that several of them test looked for once, their regexes' `search` called
    directly, and none tried twice: an alternative with many probes is tried under the first of them
    the text holds, and not once its matcher has matched. Each function has a twin for ASCII texts, the
    same code searching with the regexes' `ascii_twin`s.
    """

    def __init__(self, matchers: list[Matcher]) -> None:
        self.matchers = matchers
        self.index: dict[str, list[int]] = {}
        self.always: list[int] = []
        self.branches: list[tuple[int, Gate, LazyRegex, tuple[frozenset[str], ...]]] = []
        self.plain: list[int] = []  # matchers tested one by one
        self.owner: list[int] = []  # each alternative's matcher
        self.probes: list[tuple[str, ...]] = []  # the probes each alternative is indexed by, sorted
        for m_id, m in enumerate(matchers):
            if m.branches is None:
                self.plain.append(m_id)
                continue
            for clauses, rx in m.branches:
                b_id = len(self.branches)
                # the probes of each clause whose literals all have one: one of them must be a word start
                probe_sets = tuple(frozenset(p for _, p in c) for c in clauses if all(p is not None for _, p in c))
                self.branches.append((m_id, clauses, rx, probe_sets))  # type: ignore[arg-type]
                self.owner.append(m_id)
                probed = [c for c in clauses if all(p is not None for _, p in c)]
                if probed:  # indexed by the clause with the fewest probes, then the longest literals (rarer), a
                    # clause with probes most texts hold (the matcher's `common`) or probes of one or two
                    # characters (likely common words) only when no other has
                    best = min(probed, key=lambda c: (any(p in m.common or len(p) < 3 for _, p in c),  # type: ignore[operator]
                                                       len({p for _, p in c}), -min(len(x) for x, _ in c), c))
                    self.probes.append(tuple(sorted({p for _, p in best})))  # type: ignore[type-var]
                    for p in self.probes[-1]:
                        self.index.setdefault(p, []).append(b_id)
                else:
                    self.probes.append(())
                    self.always.append(b_id)
        self.keys = frozenset(self.index)
        # each alternative's `search`, compiled on its first call: most alternatives never pass their gates;
        # and the search of its `ascii_twin`, for ASCII texts
        self.searches: list = []
        self.searches.extend(_lazy_search(self.searches, b_id, b[2]) for b_id, b in enumerate(self.branches))
        self.ascii_searches: list = []
        self.ascii_searches.extend(
            _lazy_search(self.ascii_searches, b_id, b[2], ascii=True) for b_id, b in enumerate(self.branches)
        )
        keys = list(self.index)
        defs = {f"try_{i}": ("t, s, found", self._tries(self.index[k], k)) for i, k in enumerate(keys)}
        fns, twins = self._compile({**defs, "try_always": ("t, s, found", self._tries(self.always))})
        self.key_tests = {k: fns[f"try_{i}"] for i, k in enumerate(keys)}
        self.key_tests_ascii = {k: twins[f"try_{i}"] for i, k in enumerate(keys)}
        self.always_test, self.always_test_ascii = fns["try_always"], twins["try_always"]
        # what `survivors` and `matching` with survivors use, compiled on the first call of `survivors`
        self.tests: list | None = None
        self.tests_ascii: list | None = None
        self.key_gates: dict | None = None
        self.always_gates = None

    def _compile_survivors(self) -> None:
        """`tests` (each alternative's test), `key_gates` and `always_gates` (the gates under each probe, and of
        the alternatives under none)."""
        keys = list(self.index)
        defs = {f"test_{b_id}": ("t, s", [f"return {self._test(b_id)}"]) for b_id in range(len(self.branches))}
        defs.update({f"gate_{i}": ("t, s, out", self._gates(self.index[k], k)) for i, k in enumerate(keys)})
        fns, twins = self._compile({**defs, "gate_always": ("t, s, out", self._gates(self.always))})
        self.tests = [fns[f"test_{b_id}"] for b_id in range(len(self.branches))]
        self.tests_ascii = [twins[f"test_{b_id}"] for b_id in range(len(self.branches))]
        self.key_gates = {k: fns[f"gate_{i}"] for i, k in enumerate(keys)}
        self.always_gates = fns["gate_always"]

    def _test(self, b_id: int, key: str | None = None, names: dict[str, str] | None = None) -> str:
        """The test of one alternative as an expression of the text `t` and its word starts `s`: its gates,
        then its regex. `key`: a probe known to be in `s`; `names`: literals already looked for (`_shared`)."""
        gate = _gate_expr(self.branches[b_id][1], known=key, names=names)
        return f"{gate} and S[{b_id}](t) is not None" if gate else f"S[{b_id}](t) is not None"

    def _shared(self, b_ids: list[int]) -> tuple[list[str], dict[str, str]]:
        """The literals that more than one of the alternatives `b_ids` test, each to be looked for once, when
        first needed, into a local variable: (the line that starts the variables as None, literal -> name)."""
        counts: dict[str, int] = {}
        for b_id in b_ids:
            for clause in self.branches[b_id][1]:
                for lit, _ in clause:
                    counts[lit] = counts.get(lit, 0) + 1
        names = {lit: f"L{i}" for i, lit in enumerate(lit for lit, n in counts.items() if n > 1)}
        return ([" = ".join([*names.values(), "None"])] if names else []), names

    def _first(self, b_id: int, key: str | None) -> str:
        """The condition that `key` is the first of the alternative's probes the text holds (see `_tries`)."""
        if key is None:
            return ""
        earlier = self.probes[b_id][: self.probes[b_id].index(key)]
        return "".join(f"{p!r} not in s and " for p in earlier)

    def _tries(self, b_ids: list[int], key: str | None = None) -> list[str]:
        """The body of a function `(t, s, found)` trying the alternatives `b_ids` (those under the probe `key`,
        known to be in `s`) whose matcher is not in `found`, and adding the matcher of each that matches."""
        lines, names = self._shared(b_ids)
        for b_id in b_ids:
            m_id = self.owner[b_id]
            lines.append(f"if {m_id} not in found and {self._first(b_id, key)}{self._test(b_id, key, names)}:")
            lines.append(f"    found.add({m_id})")
        return lines

    def _gates(self, b_ids: list[int], key: str | None = None) -> list[str]:
        """The body of a function `(t, s, out)` adding to `out` each of the alternatives `b_ids` (those under
        the probe `key`, known to be in `s`) whose gates `t` passes."""
        lines, names = self._shared(b_ids)
        for b_id in b_ids:
            gate = _gate_expr(self.branches[b_id][1], known=key, names=names) or "True"
            lines.append(f"if {self._first(b_id, key)}{gate}:")
            lines.append(f"    out.append({b_id})")
        return lines

    def _compile(self, defs: dict[str, tuple[str, list[str]]]) -> tuple[dict, dict]:
        """The functions `name(args)` with the body `lines` of `defs` (name -> (args, lines)), compiled at once,
        the searches at hand as `S`; and their twins for ASCII texts (see `_twins`)."""
        source = "".join(
            f"def {name}({args}):\n" + "".join(f"    {line}\n" for line in lines or ["pass"])
            for name, (args, lines) in defs.items()
        )
        namespace = {"S": self.searches}
        exec(source, namespace)  # noqa: S102 - built from literals via repr and integers
        return namespace, _twins(namespace, defs, self.ascii_searches)

    def matching(self, text: str, starts: set[str], survivors: list[int] | None = None) -> set[int]:
        """The indices of the matchers that match `text`; `starts` is `word_starts(text)` (or a superset).

        `survivors`: from `survivors()` on a text that contains this one (see there), to try only those."""
        found = {m_id for m_id in self.plain if self.matchers[m_id].test(text)}
        ascii = text.isascii()
        if survivors is not None:
            owner, tests = self.owner, (self.tests_ascii if ascii else self.tests)
            for b_id in survivors:  # `tests` compiled by the `survivors` call that gave them
                m_id = owner[b_id]
                if m_id not in found and tests[b_id](text, starts):
                    found.add(m_id)
            return found
        (self.always_test_ascii if ascii else self.always_test)(text, starts, found)
        key_tests = self.key_tests_ascii if ascii else self.key_tests
        for key in starts & self.keys:
            key_tests[key](text, starts, found)
        return found

    def survivors(self, text: str, starts: set[str] | None = None) -> list[int]:
        """The alternatives whose gates `text` passes: the only ones that can match a part of `text`.

        Pass the result to `matching` for parts of `text` (zones, windows): the same answers, the gates'
        cost paid once. With `starts` (`word_starts(text)` or a superset), the parts must be tested
        with those `starts` too; without, every alternative's literals are tested (for parts whose word
        starts are not those of `text`, such as windows cutting a word)."""
        out: list[int] = []
        if self.tests is None:
            self._compile_survivors()
        if starts is None:
            for b_id, (_, clauses, _, _) in enumerate(self.branches):
                for clause in clauses:
                    for lit, _ in clause:
                        if lit in text:
                            break
                    else:
                        break
                else:
                    out.append(b_id)
            return out
        self.always_gates(text, starts, out)  # type: ignore[misc]
        key_gates = self.key_gates
        for key in starts & self.keys:
            key_gates[key](text, starts, out)
        return out


def _deferred(owner: object, attr: str, build):
    """A stand-in for the function `owner.attr`: on its first call it builds the function (`build()` puts it
    in its place, and maybe others in theirs) and calls it."""

    def first(*args):
        build()
        return getattr(owner, attr)(*args)

    return first


def _lazy_search(slots: list, i: int, rx: LazyRegex, ascii: bool = False):
    """A stand-in for `rx.compiled.search` (`ascii`: `rx.compiled_ascii.search`) at `slots[i]`: on its first
    call it compiles the regex and puts the compiled `search` in its place."""

    def search(text: str) -> re.Match[str] | None:
        slots[i] = (rx.compiled_ascii if ascii else rx.compiled).search
        return slots[i](text)

    return search


def _twins(namespace: dict, names, searches: list) -> dict:
    """The generated functions `names` of `namespace` again, for ASCII texts: the same code, with `S` the
    `searches` of the regexes' `ascii_twin`s (the same answers on ASCII texts, see there)."""
    globals_ = {"S": searches, "__builtins__": namespace["__builtins__"]}
    return {n: types.FunctionType(namespace[n].__code__, globals_, n) for n in names}


def _gate_expr(
    clauses: Gate, probes: bool = True, known: str | None = None, names: dict[str, str] | None = None
) -> str:
    """`passes(clauses, t, s)` as one expression of the text `t` and its word starts `s` ("" when there
    is no clause): the literals and probes inlined, no loops. Without `probes`, `passes(clauses, t)`: the
    literals only. `known`: a probe known to be in `s`, not tested; `names`: literal -> the name of a
    variable that holds `literal in t` once it is not None (the first test sets it)."""
    names = names or {}

    def has(lit: str) -> str:
        name = names.get(lit)
        return f"({name} if {name} is not None else ({name} := {lit!r} in t))" if name else f"{lit!r} in t"

    tests = (
        " or ".join(
            has(lit) if probe is None or not probes or probe == known else f"({probe!r} in s and {has(lit)})"
            for lit, probe in c
        )
        for c in clauses
    )
    return " and ".join(f"({x})" for x in tests)


def _any_fn(branches: list[tuple[Gate, LazyRegex]], probes: bool):
    """`any(passes(clauses, t, s) and rx.search(t) for clauses, rx in branches)` as one generated function
    of the text `t` and its word starts `s` (see `_gate_expr`; without `probes`, `s` unused), the regexes
    compiled on their first search; and its twin for ASCII texts (see `_twins`)."""
    searches: list = []
    searches.extend(_lazy_search(searches, i, rx) for i, (_, rx) in enumerate(branches))
    ascii_searches: list = []
    ascii_searches.extend(_lazy_search(ascii_searches, i, rx, ascii=True) for i, (_, rx) in enumerate(branches))
    tests = []
    for i, (clauses, _) in enumerate(branches):
        gate = _gate_expr(clauses, probes)
        tests.append(f"({gate} and S[{i}](t) is not None)" if gate else f"S[{i}](t) is not None")
    namespace = {"S": searches}
    source = "def f(t, s):\n    return " + (" or ".join(tests) or "False") + "\n"
    exec(source, namespace)  # noqa: S102 - literals via repr
    return namespace["f"], _twins(namespace, ["f"], ascii_searches)["f"]


def _gate_fn(clauses: Gate, probes: bool = True):
    """`passes(clauses, t, s)` as one compiled function (see `_gate_expr`); None when there is no clause."""
    if not clauses:
        return None
    return eval("lambda t, s: " + _gate_expr(clauses, probes))  # noqa: S307 - literals via repr


class IndexedMatcher(Matcher):
    """A `Matcher` with many alternatives: only those whose word probes the text holds are tried."""

    __slots__ = ("_set",)

    def __init__(self, source: str, ignorecase: bool = False, flags: int = re.MULTILINE) -> None:
        super().__init__(source, ignorecase, flags)
        self._set = MatcherSet([self]) if self.branches is not None else None

    def test(self, text: str, lowered: str | None = None, starts: set[str] | None = None) -> bool:
        if self._set is None or (self.ignorecase and not caseless(text)):
            return super().test(text, lowered, starts)
        if self.ignorecase:
            text = lowered if lowered is not None else text.lower()
        else:
            starts = None  # the set's probes are the text's own, not the lower-cased text's
        return bool(self._set.matching(text, word_starts(text) if starts is None else starts))
