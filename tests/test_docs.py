"""Docs are part of the product: every command, option and example they show must be true."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import ROOT
from watcher.cli import build_parser
from watcher.config import parse_config
from watcher.sources.base import SourceOptions, kind_class

CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text()
README = (ROOT / "README.md").read_text()


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)


@pytest.mark.parametrize("block", _yaml_blocks(CONFIG_DOC))
def test_every_example_loads(block):
    doc = yaml.safe_load(block)
    if "sources" not in doc:
        doc["sources"] = []
    env = {name: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" for name in re.findall(r"_env:\s*(\w+)", block)}
    parse_config(yaml.safe_dump(doc), "example.yaml", env)


@pytest.mark.parametrize("kind", ["feed", "json", "html", "list"])
def test_every_source_option_is_documented(kind):
    cls = kind_class(kind)
    assert cls.__doc__, f"kind {kind} needs a docstring"
    for name in cls.Options.model_fields:
        if name not in SourceOptions.model_fields or kind == "feed":
            assert f"`{name}`" in CONFIG_DOC, f"option {name!r} of kind {kind!r} is not in docs/configuration.md"


def test_every_setting_is_documented():
    from watcher.config import FetchSettings, Settings

    for name in [*Settings.model_fields, *FetchSettings.model_fields]:
        if name == "smtp":
            continue
        assert re.search(rf"^\s*{name}:", CONFIG_DOC, re.M), f"setting {name!r} is not in docs/configuration.md"


def test_every_command_has_help_and_is_in_the_readme():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, sp in sub.choices.items():
        assert sp.description, name
        assert f"`{name}" in README, f"command {name!r} is not in the README"


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
    assert "watcher run" in blocks[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pytest" in blocks[1] and ".venv/bin/python -m pytest" in ci
