"""Issue 8, part 3 (config): property-based fuzzing of the config loader.

Whatever the text of sources.yaml, `parse_config` either accepts it or raises ConfigError with
"FILE:LINE: message" (one line) — never another exception; and `watcher check` exits 2 with that one
line, no traceback. Inputs: random YAML documents, valid configs mutated (wrong types, unknown keys, bad
durations and schedules, duplicate names, deep nesting, unicode, huge numbers), raw text mutations
(tabs, stray characters, cut lines), anchors and aliases, and YAML alias bombs, which must be refused
quickly rather than expanded.
"""

from __future__ import annotations

import copy
import json
import re
import time

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import run_cli
from watcher.config import ConfigError, parse_config

ENV = {"HOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "SMTP_PASSWORD": "pw", "COURT_TOKEN": "t"}
ERROR = re.compile(r"^fuzz\.yaml:[1-9]\d*: \S.*$")
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = {
    "settings": {"public_url": "https://watch.example.org", "listen": "127.0.0.1:8080", "timezone": "America/Chicago",
                 "max_age": "14d", "fetch": {"timeout": "30s", "max_bytes": "10MB", "per_host": 2, "backoff_base": "1m"},
                 "smtp": {"host": "smtp.example.org", "port": 587, "security": "starttls", "password_env": "SMTP_PASSWORD",
                          "sender": "Watch <alerts@example.org>", "retry": ["1m", "5m"]},
                 "webhooks": {"retry": ["5s", "5m"], "jitter": 0.2, "timeout": "15s"}},
    "sources": [{"name": "doj-press", "kind": "feed", "url": "https://www.justice.gov/news/rss", "every": "10m"},
                {"name": "ice", "kind": "html", "url": "https://www.ice.gov/newsroom", "every": "30m",
                 "item": "div.views-row", "title": "div.news-title a"},
                {"name": "fr", "kind": "json", "url": "https://www.federalregister.gov/api/v1/documents.json", "every": "1h",
                 "preset": "federal_register"}],
    "subscribers": [{"email": "desk@example.org", "schedule": "daily 07:00", "timezone": "America/Chicago",
                     "filter": {"kinds": ["ruling"], "jurisdictions": ["Chicago, IL"], "min_score": 0.5}},
                    {"email": "now@example.org", "schedule": "immediate"}],
    "webhooks": [{"name": "tribune", "url": "https://hooks.example.org/s", "secret_env": "HOOK_SECRET",
                  "filter": {"kinds": ["ruling", "lawsuit"]}},
                 {"name": "chat", "url": "https://hooks.slack.com/services/x", "format": "slack"}],
}


def _check(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml", ENV)
    except ConfigError as e:
        assert ERROR.match(str(e)) and "\n" not in str(e), repr(str(e))
    # anything else propagates and fails the property


def test_the_valid_base_loads():
    parse_config(json.dumps(VALID), "fuzz.yaml", ENV)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["10m", "0s", "-5s", "1e9h", "99999999999d", "daily 25:00", "weekly xyz 07:00", "hourly",
                     "immediate", "feed", "html", "json", "list", "nope", "https://x.example/", "ftp://x", "\t",
                     "America/Nowhere", "UTC", "ruling", "10GB", "-1MB", "0.0.0.0:99999", "ünïcødé", "\u202e",
                     "whsec_", "", " ", "null", "~", "yes", "0x1F", "1_000", ".inf", "☃" * 40]),
)
keys = st.one_of(st.text(max_size=12), st.sampled_from(
    ["settings", "sources", "subscribers", "webhooks", "name", "kind", "url", "every", "email", "schedule", "filter",
     "kinds", "jurisdictions", "keywords", "min_score", "secret_env", "format", "fetch", "smtp", "timeout", "retry",
     "evry", "enabled", "headers", "token_env", "parser", "identity", "publisher", "allow_private", "templates"]))
documents = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                           st.dictionaries(keys, inner, max_size=5)), max_leaves=30)


@FUZZ
@given(documents)
def test_random_documents(doc):
    for text in (yaml.safe_dump(doc, allow_unicode=True), json.dumps(doc, default=str)):
        _check(text)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*prefix, i))


ALL_PATHS = list(_paths(VALID))


@st.composite
def mutated(draw):
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(ALL_PATHS))
        parent, last = None, None
        node = doc
        try:
            for p in path:
                parent, last = node, p
                node = node[p]
        except (KeyError, IndexError, TypeError):
            continue
        action = draw(st.sampled_from(["replace", "unknown_key", "delete", "duplicate", "nest", "wrap"]))
        if action == "replace" and parent is not None:
            parent[last] = draw(documents)
        elif action == "unknown_key" and isinstance(node, dict):
            node[draw(keys)] = draw(scalars)
        elif action == "delete" and parent is not None:
            del parent[last]
        elif action == "duplicate" and isinstance(node, list) and node:
            node.append(copy.deepcopy(node[0]))  # duplicate source, subscriber or webhook names
        elif action == "nest" and parent is not None:
            deep = draw(scalars)
            for _ in range(draw(st.integers(min_value=1, max_value=60))):
                deep = draw(st.sampled_from([[deep], {"k": deep}]))
            parent[last] = deep
        elif action == "wrap" and parent is not None:
            parent[last] = [node]
    return doc


@FUZZ
@given(mutated())
def test_mutated_valid_configs(doc):
    _check(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))


@st.composite
def text_mutations(draw):
    lines = yaml.safe_dump(VALID, sort_keys=False).splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        op = draw(st.sampled_from(["tab", "char", "cut", "drop", "dup", "anchor", "alias", "indent", "bytes"]))
        line = lines[i]
        if op == "tab":
            lines[i] = "\t" + line
        elif op == "char":
            at = draw(st.integers(min_value=0, max_value=len(line)))
            lines[i] = line[:at] + draw(st.sampled_from(list(":-[]{}&*!|>'\"%@`#,?\t\x00\ufeff\u2028"))) + line[at:]
        elif op == "cut":
            lines[i] = line[: draw(st.integers(min_value=0, max_value=len(line)))]
        elif op == "drop":
            del lines[i]
            if not lines:
                lines = ["x"]
        elif op == "dup":
            lines.insert(i, line)
        elif op == "anchor" and ":" in line and not line.rstrip().endswith(":"):
            lines[i] = line.replace(": ", ": &a" + str(i) + " ", 1)
        elif op == "alias" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": *a" + str(draw(st.integers(min_value=0, max_value=len(lines))))
        elif op == "indent":
            lines[i] = " " * draw(st.integers(min_value=1, max_value=5)) + line
        elif op == "bytes":
            lines[i] = line + draw(st.text(max_size=8))
    return "\n".join(lines)


@FUZZ
@given(text_mutations())
def test_raw_text_mutations(text):
    _check(text)


def _bomb(levels: int, width: int = 9) -> str:
    lines = ["settings:", "  x0: &x0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"  x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_alias_bombs_are_refused_fast():
    for text in (_bomb(9), _bomb(30, width=2), "a: &a [*a]\n", "a: &a {b: *a}\n",
                 "sources:\n  - &s {name: a, kind: feed, url: 'http://x.example/', headers: {h: *s}}\n",
                 "[" * 10_000 + "]" * 10_000, "{a: " * 5_000 + "1" + "}" * 5_000):
        t = time.monotonic()
        try:
            parse_config(text, "fuzz.yaml", ENV)
        except ConfigError as e:
            assert ERROR.match(str(e)), str(e)
        else:
            raise AssertionError("a bomb was accepted")
        assert time.monotonic() - t < 2.0, text[:80]


def test_ordinary_anchors_and_aliases_still_work():
    text = """
settings: {public_url: "https://watch.example.org"}
sources:
  - {name: a, kind: feed, url: "https://a.example/rss", every: &often 5m}
  - {name: b, kind: feed, url: "https://b.example/rss", every: *often}
subscribers:
  - {email: a@example.org, filter: &rulings {kinds: [ruling]}}
  - {email: b@example.org, filter: *rulings}
"""
    cfg = parse_config(text, "fuzz.yaml", {})
    assert [s.every for s in cfg.sources] == [300.0, 300.0]
    assert [s.filter.kinds for s in cfg.subscribers] == [("ruling",), ("ruling",)]


def test_watcher_check_says_one_line_and_exits_2(tmp_path):
    cases = {"bomb": _bomb(9), "self": "a: &a [*a]\n", "deep": "[" * 10_000, "tabs": "settings:\n\tlisten: x\n",
             "nul": "sources: [\x00]\n", "types": "sources: {a: 1}\n", "huge": "settings: {fetch: {per_host: 1e400}}\n"}
    for name, text in cases.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        t = time.monotonic()
        out = run_cli("--config", str(path), "check", timeout=60)
        assert time.monotonic() - t < 20
        assert out.returncode == 2, (name, out.returncode, out.stdout, out.stderr)
        lines = (out.stdout + out.stderr).strip().splitlines()
        assert len(lines) == 1 and re.match(rf"^{re.escape(str(path))}:\d+: \S", lines[0]), (name, lines)
        assert "Traceback" not in out.stderr
