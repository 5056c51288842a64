"""sources.yaml validation: every error names the file and line, exit 2, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, run_cli
from watcher.config import ConfigError, load_config, parse_config

GOOD = """\
settings:
  public_url: http://localhost:8080
  listen: 127.0.0.1:8080
  timezone: America/New_York
  smtp:
    host: smtp.example.org
    port: 587
    security: starttls
    username_env: SMTP_USERNAME
    password_env: SMTP_PASSWORD
    sender: "Sanctuary Watch <alerts@example.org>"
sources:
  - name: doj-press
    kind: feed
    url: https://www.justice.gov/news/rss?type=press_release&m=1
    every: 10m
subscribers:
  - email: desk@example.org
    schedule: daily 07:00
    timezone: America/Chicago
    filter: {kinds: [ruling, lawsuit], jurisdictions: ["Chicago, IL", "Illinois"], keywords: [], min_score: 0.5}
webhooks:
  - name: tribune
    url: https://hooks.example.org/sanctuary
    secret_env: TRIBUNE_WEBHOOK_SECRET
    format: standard
    filter: {kinds: [ruling]}
"""
ENV = {"SMTP_USERNAME": "u", "SMTP_PASSWORD": "hunter2-smtp-secret", "TRIBUNE_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}


def test_the_architecture_example_loads():
    c = parse_config(GOOD, "sources.yaml", ENV)
    assert c.sources[0].every == 600
    assert str(c.subscribers[0].schedule) == "daily 07:00"
    assert c.secrets["SMTP_PASSWORD"] == "hunter2-smtp-secret"
    assert "hunter2" not in repr(c) and "whsec_" not in repr(c)  # secrets stay out of reprs and logs


def test_the_shipped_sources_yaml_loads():
    c = load_config(ROOT / "sources.yaml", {})
    assert len(c.sources) >= 12
    assert {s.kind for s in c.sources} == {"feed", "json", "html", "list"}
    assert load_config(None, {}).sources == c.sources  # the embedded default is the same file


@pytest.mark.parametrize(
    "old, new, line, message",
    [
        ("    every: 10m", "    evry: 10m", 16, "unknown key 'evry'"),
        ("    every: 10m", "    every: 10 minutes", 16, "bad duration"),
        ("    every: 10m", "    every: 0s", 16, "at least 1s"),
        ("    kind: feed", "    kind: fed", 14, "unknown source kind 'fed' (valid: feed, html, json, list)"),
        ("  - name: doj-press", "  - name: DOJ Press", 13, "name"),
        ("    url: https://www.justice.gov/news/rss?type=press_release&m=1\n", "", 13, "missing required key 'url'"),
        ("    schedule: daily 07:00", "    schedule: daily 7pm", 19, "bad time"),
        ("    timezone: America/Chicago", "    timezone: Mars/Olympus", 20, "unknown timezone"),
        ("{kinds: [ruling]}", "{kinds: [rulings]}", 27, "unknown kind 'rulings'"),
        ("    security: starttls", "    security: ssl", 8, "security"),
        ("  listen: 127.0.0.1:8080", "  listen: everywhere", 3, "HOST:PORT"),
        ("    format: standard", "    format: teams", 26, "format"),
    ],
)
def test_errors_name_file_line_and_problem(old, new, line, message):
    bad = GOOD.replace(old, new, 1)
    assert bad != GOOD
    with pytest.raises(ConfigError) as e:
        parse_config(bad, "sources.yaml", ENV)
    assert e.value.line == line, str(e.value)
    assert message in e.value.message
    assert str(e.value).startswith(f"sources.yaml:{line}: ")


def test_duplicate_names_and_keys():
    dup = GOOD.replace("subscribers:", "  - name: doj-press\n    kind: feed\n    url: https://example.org/x\nsubscribers:")
    with pytest.raises(ConfigError, match=r"sources.yaml:17: duplicate source name 'doj-press'"):
        parse_config(dup, "sources.yaml", ENV)
    with pytest.raises(ConfigError, match=r":4: duplicate key 'listen'"):
        parse_config(GOOD.replace("  timezone: America/New_York", "  listen: 0.0.0.0:1"), "sources.yaml", ENV)


def test_missing_environment_variables():
    env = dict(ENV)
    del env["SMTP_PASSWORD"]
    with pytest.raises(ConfigError, match=r"sources.yaml:10: environment variable SMTP_PASSWORD .* is not set"):
        parse_config(GOOD, "sources.yaml", env)
    env = dict(ENV, TRIBUNE_WEBHOOK_SECRET="plain-secret")
    with pytest.raises(ConfigError, match=r":25: TRIBUNE_WEBHOOK_SECRET must hold whsec_"):
        parse_config(GOOD, "sources.yaml", env)


def test_standard_webhooks_must_be_signed():
    unsigned = GOOD.replace("    secret_env: TRIBUNE_WEBHOOK_SECRET\n", "")
    with pytest.raises(ConfigError, match=r"sources.yaml:23: a standard webhook needs secret_env"):
        parse_config(unsigned, "sources.yaml", ENV)


def test_not_yaml_at_all():
    with pytest.raises(ConfigError, match=r"sources.yaml:3: not valid YAML: expected .,. or .\]."):
        parse_config("sources:\n  - [unclosed\n", "sources.yaml", {})
    with pytest.raises(ConfigError, match=r"sources.yaml:1: the top level must be a mapping"):
        parse_config("- just a list\n", "sources.yaml", {})


def test_check_command_exit_codes(tmp_path):
    good = tmp_path / "sources.yaml"
    good.write_text(GOOD)
    r = run_cli("--config", str(good), "check", env=ENV)
    assert r.returncode == 0 and "ok" in r.stdout
    bad = tmp_path / "broken.yaml"
    bad.write_text(GOOD.replace("every: 10m", "evry: 10m"))
    for cmd in (["check"], ["poll", "--once"], ["run"]):
        r = run_cli("--config", str(bad), *cmd, env=ENV)
        assert r.returncode == 2, cmd
        assert r.stderr.strip() == f"{bad}:16: unknown key 'evry'"
    r = run_cli("--config", str(tmp_path / "missing.yaml"), "check")
    assert r.returncode == 2 and "missing.yaml:1: no such file" in r.stderr
    r = run_cli("frobnicate")
    assert r.returncode == 2 and "Traceback" not in r.stderr
