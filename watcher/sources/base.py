"""The contract every source kind fulfils, and the registry of kinds.

A kind is one small class: a name, a pydantic model of its options (which
config validates, so unknown options fail at load time with their line), a
docstring that is its user documentation, and a pure `parse` from the fetched
body to entries. Kinds register themselves with `@register`.
"""

from __future__ import annotations

from typing import ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from watcher.domain import Entry
from watcher.units import parse_duration

PUBLISHERS = ("doj", "ice", "dhs", "court", "whitehouse", "federal_register", "state", "news")


class ParseError(Exception):
    """The body could not be read as this kind of source: one failed poll."""


class SourceOptions(BaseModel):
    """Options every source has. Kinds extend this with their own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    kind: str
    url: str
    every: float = 600.0
    enabled: bool = True
    publisher: Literal[PUBLISHERS] | None = None  # type: ignore[valid-type]
    headers: dict[str, str] = Field(default_factory=dict)
    user_agent: str | None = None
    # How an entry is recognised again: its guid/id (else URL), its URL, or its
    # normalised title (for feeds like Google News whose links and guids rotate).
    identity: Literal["auto", "url", "title"] = "auto"

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, v: object) -> float:
        seconds = parse_duration(v)  # type: ignore[arg-type]
        if seconds < 1:
            raise ValueError("interval must be at least 1s")
        return seconds

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {v!r}")
        return v


_HOSTS = {
    "justice.gov": "doj",
    "ice.gov": "ice",
    "dhs.gov": "dhs",
    "whitehouse.gov": "whitehouse",
    "federalregister.gov": "federal_register",
    "courtlistener.com": "court",
    "uscourts.gov": "court",
    "govinfo.gov": "court",
    "supremecourt.gov": "court",
}


def publisher_of(source: SourceOptions) -> str:
    """Who publishes a source: as configured, else judged by its host (state and city .gov sites
    are `state`), else news."""
    if source.publisher:
        return source.publisher
    host = (urlsplit(source.url).hostname or "").lower()
    for suffix, publisher in _HOSTS.items():
        if host == suffix or host.endswith("." + suffix):
            return publisher
    return "state" if host.endswith(".gov") or host.endswith(".us") else "news"


class SourceKind:
    """Base class of source kinds."""

    name: ClassVar[str]
    Options: ClassVar[type[SourceOptions]] = SourceOptions

    def __init__(self, options: SourceOptions, env: dict[str, str] | None = None):
        self.options = options

    def request_headers(self) -> dict[str, str]:
        """Headers this source adds to its GET (auth tokens, Accept)."""
        return dict(self.options.headers)

    def parse(self, body: bytes, content_type: str = "") -> list[Entry]:
        raise NotImplementedError


KINDS: dict[str, type[SourceKind]] = {}


def register(cls: type[SourceKind]) -> type[SourceKind]:
    KINDS[cls.name] = cls
    return cls


def kind_class(name: str) -> type[SourceKind]:
    _load_builtin_kinds()
    try:
        return KINDS[name]
    except KeyError:
        valid = ", ".join(sorted(KINDS))
        raise KeyError(f"unknown source kind {name!r} (valid: {valid})") from None


def _load_builtin_kinds() -> None:
    # Built-in kinds register exactly as a plug-in would: by being imported.
    from watcher.sources import feed, html, json_api, listing  # noqa: F401
