"""Text signatures for story clustering: salient tokens and legal references.

Two reports of one event rarely share a sentence, but they share its names,
numbers and identifiers: the official's surname, "23 jurisdictions", "SB 4",
"Executive Order 14287", a docket number. This module turns a title and a
summary into

* a weighted bag of tokens (`text_vector`), where the words every item in this
  domain uses ("sanctuary", "federal", "immigration") weigh little and proper
  names, long numbers and title words weigh more; and
* a set of normalised references (`references`): executive orders, bills,
  ballot measures, U.S. Code sections, docket numbers, case captions and named
  operations, as `type:value` strings.

Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping

# Words that carry no meaning of their own.
_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be been before being below between both
    but by can could did do does doing down during each few for from further had has have having he her here
    hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or
    other our ours out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while who whom why will
    with would you your yours may might must shall upon per via amid among across within without new one two
    three four five six seven eight nine ten first second last next week weeks day days monday tuesday wednesday
    thursday friday saturday sunday today yesterday tonight morning afternoon evening year years month months
    jan feb mar apr jun jul aug sep sept oct nov dec january february march april may june july august september
    october november december mr ms mrs dr st
    """.split()  # noqa: SIM905 (a word list reads best as words)
)

# Words that nearly every item in this domain uses: they say little about which event it is.
_COMMON = frozenset(
    """
    sanctuary city cities county counties state states jurisdiction jurisdictions immigration immigrant
    immigrants federal law laws policy policies department justice trump president presidential administration
    official officials enforcement ice said says say government local agent agents cooperation cooperate
    cooperating mayor mayors governor governors attorney general secretary homeland security dhs doj us united
    national nation nationwide public safety authorities authority office release statement announced announce
    announces news report reported according would could told including include includes alien aliens illegal
    undocumented migrant migrants deportation deportations detain detainer detainers custody jail jails police
    sheriff sheriffs comply compliance friendly limit limiting protect protection protections community
    communities residents people resident criminal criminals action actions move moves plan plans effort efforts
    new york california
    """.split()  # noqa: SIM905 (a word list reads best as words)
)

_WORD = re.compile(r"[A-Za-z][A-Za-z'’.-]*[A-Za-z]|[A-Za-z]|\$?\d[\d,.]*\d|\d")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"“‘'(]\s*)$")

TITLE_WEIGHT = 1.5
PROPER_WEIGHT = 1.6
COMMON_WEIGHT = 0.25
LONG_NUMBER_WEIGHT = 1.8
SHORT_NUMBER_WEIGHT = 0.4


def fold(text: str) -> str:
    """Strip accents and unify quotes and dashes, keeping case."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return (
        text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"').replace("–", "-").replace("—", "-")
    )


def stem(word: str) -> str:
    """A deliberately crude suffix stripper: enough to join "sues"/"sued", "letters"/"letter"."""
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "es" and not word.endswith(("ses", "xes", "zes", "ches", "shes")):
                return word[:-1]
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: len(word) - len(suffix)] + repl
    return word


@functools.lru_cache(maxsize=65536)
def _lexeme(raw: str) -> tuple[str, float] | None:
    """The token of one word or number and its weight before context (cached: words repeat)."""
    if raw[0].isdigit() or raw[0] == "$":
        digits = re.sub(r"[^\d.]", "", raw).strip(".")
        if not digits:
            return None
        if len(digits.replace(".", "")) >= 3 and not re.fullmatch(r"(19|20)\d\d", digits):
            return "#" + digits, LONG_NUMBER_WEIGHT
        return "#" + digits, SHORT_NUMBER_WEIGHT
    lower = raw.lower()
    word = lower.replace("'", "").replace(".", "")
    if word.endswith("s") and lower.endswith("'s"):
        word = word[:-1]
    if len(word) < 2 or word in _STOPWORDS:
        return None
    token = stem(word)
    if word in _COMMON or token in _COMMON:
        return token, COMMON_WEIGHT
    return token, 1.0


def _token_weight(raw: str, position: int, text: str) -> tuple[str, float] | None:
    lexeme = _lexeme(raw)
    if lexeme is None or lexeme[1] != 1.0 or not raw[0].isupper():
        return lexeme
    if _SENTENCE_START.search(text[max(0, position - 4) : position]):
        return lexeme
    return lexeme[0], PROPER_WEIGHT


def _words(text: str, scale: float) -> dict[str, float]:
    out: dict[str, float] = {}
    for match in _WORD.finditer(text):
        tw = _token_weight(match.group(0), match.start(), text)
        if tw is None:
            continue
        token, weight = tw
        weight *= scale
        if weight > out.get(token, 0.0):
            out[token] = weight
    return out


def text_vector(title: str, summary: str = "") -> dict[str, float]:
    """Weighted bag of salient tokens; title words count more than summary words."""
    vector = _words(fold(summary), 1.0)
    for token, weight in _words(fold(title), TITLE_WEIGHT).items():
        vector[token] = max(weight, vector.get(token, 0.0))
    return vector


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b[t] for t, w in a.items() if t in b)
    if dot == 0.0:
        return 0.0
    na = math.sqrt(sum(w * w for w in a.values()))
    nb = math.sqrt(sum(w * w for w in b.values()))
    return dot / (na * nb)


# --- references -----------------------------------------------------------------------------------

_EO = re.compile(r"\b(?:executive\s+order|E\.?\s?O\.?)\s*(?:No\.?\s*)?(\d{5})\b", re.IGNORECASE)
_BILL_WORDS = re.compile(
    r"\b(senate|house|assembly)\s+(bill|file|joint resolution)\s+(?:No\.?\s*)?(\d{1,5})\b", re.IGNORECASE
)
_BILL_SHORT = re.compile(r"\b([SHA])\.?\s?([BF])\.?\s?(\d{1,5})\b")
_MEASURE = re.compile(r"\b(?:measure|proposition|prop\.?|question|initiative)\s+(\d{1,4})\b", re.IGNORECASE)
_USC = re.compile(r"\b(\d{1,2})\s*U\.?\s?S\.?\s?C\.?\s*(?:§+\s*|sec(?:tion|\.)?\s*)?(\d{3,5}[a-z]?)", re.IGNORECASE)
_SECTION = re.compile(r"\bsection\s+(1373|1357|1644|287\(g\))", re.IGNORECASE)
_DOCKET = re.compile(r"\b(\d:\d{2}-[a-z]{2,3}-\d{3,6})|\bNo\.\s*(\d{2}-\d{3,6})\b", re.IGNORECASE)
_CAPTION = re.compile(
    r"([A-Z][\w.'-]*)\s+v\.?\s+(?:(?:the\s+)?(?:state|city|county|commonwealth|people)\s+of\s+)?([A-Z][\w'-]*)"
)
_OPERATION = re.compile(r"\b[Oo]peration\s+['\"]?([A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)")

# References that name one case or operation, whatever the kind of the item.
IDENTIFYING = frozenset({"docket", "case", "op"})
# References that name the instrument itself only for items of one kind: a bill is the event of a
# legislation item but the background of a suit or a ruling about it; likewise an executive order.
IDENTIFYING_FOR_KIND = {"legislation": frozenset({"bill", "measure"}), "policy": frozenset({"eo"})}


def references(text: str) -> set[str]:
    """Normalised legal references and named operations found in `text`, as "type:value"."""
    text = fold(text)
    refs: set[str] = set()
    refs.update(f"eo:{m.group(1)}" for m in _EO.finditer(text))
    for m in _BILL_WORDS.finditer(text):
        refs.add(f"bill:{m.group(1)[0].lower()}{m.group(2)[0].lower()}{int(m.group(3))}")
    for m in _BILL_SHORT.finditer(text):
        refs.add(f"bill:{m.group(1).lower()}{m.group(2).lower()}{int(m.group(3))}")
    refs.update(f"measure:{int(m.group(1))}" for m in _MEASURE.finditer(text))
    refs.update(f"usc:{int(m.group(1))}-{m.group(2).lower()}" for m in _USC.finditer(text))
    refs.update("usc:8-" + m.group(1).lower().replace("287(g)", "1357") for m in _SECTION.finditer(text))
    for m in _DOCKET.finditer(text):
        refs.add("docket:" + (m.group(1) or m.group(2)).lower())
    for m in _CAPTION.finditer(text):
        left, right = m.group(1).lower().rstrip("."), m.group(2).lower()
        if left not in _STOPWORDS and right not in _STOPWORDS:
            refs.add(f"case:{left}-v-{right}")
    for m in _OPERATION.finditer(text):
        refs.add("op:" + m.group(1).lower().replace(" ", "-"))
    return refs


def normalise_reference(ref: str) -> str:
    """A classifier's legal reference ("EO 14287", "8 U.S.C. 1373") in this module's form."""
    found = references(ref)
    if found:
        return min(found)
    return "ref:" + re.sub(r"[^a-z0-9]+", "-", fold(ref).lower()).strip("-")


def reference_agreement(a: Iterable[str], b: Iterable[str], kind: str = "") -> float:
    """+1 when two items share an identifying reference, -1 when they name only different ones, else 0.

    Which references identify depends on the kind (see IDENTIFYING_FOR_KIND). Shared
    other references (8 U.S.C. 1373 is cited by half the domain) count a little.
    """
    a, b = set(a), set(b)
    identifying = IDENTIFYING | IDENTIFYING_FOR_KIND.get(kind, frozenset())
    shared = a & b
    if any(r.split(":", 1)[0] in identifying for r in shared):
        return 1.0
    for ref_type in identifying:
        ka = {r for r in a if r.startswith(ref_type + ":")}
        kb = {r for r in b if r.startswith(ref_type + ":")}
        if ka and kb and not ka & kb:
            return -1.0
    return 0.2 if shared else 0.0
