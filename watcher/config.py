"""sources.yaml -> validated, typed config. The environment is read here and nowhere else.

Every error names the file and line it concerns: `sources.yaml:12: unknown key 'evry'`.
The YAML is composed into nodes first so each key and value keeps its line; the
plain data then goes through pydantic models whose error locations are mapped
back to those lines.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from watcher.domain import KINDS
from watcher.sources.base import SourceOptions, kind_class
from watcher.units import Schedule, parse_duration, parse_schedule, parse_size

Loc = tuple[Any, ...]


class ConfigError(Exception):
    """A config problem, always with the file and line it concerns."""

    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}:{line}: {message}")
        self.file, self.line, self.message = file, line, message


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _duration(v: Any) -> float:
    return parse_duration(v)


def _zone(v: str) -> str:
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {v!r} (use an IANA name like America/New_York)") from None
    return v


class FetchSettings(_Model):
    timeout: float = 30.0  # total, per request
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    max_bytes: int = 10_000_000
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=32, ge=1, le=1024)
    per_host: int = Field(default=2, ge=1, le=256)  # requests in flight to one host
    host_spacing: float = 1.0  # seconds between request starts to one host
    backoff_base: float = 60.0  # first wait after a failure; doubles per failure
    backoff_max: float = 6 * 3600.0
    flag_after: int = Field(default=5, ge=1)  # consecutive failures before the operator is told

    _durations = field_validator(
        "timeout", "connect_timeout", "read_timeout", "host_spacing", "backoff_base", "backoff_max", mode="before"
    )(_duration)

    @field_validator("max_bytes", mode="before")
    @classmethod
    def _size(cls, v: Any) -> int:
        return parse_size(v)


class SmtpSettings(_Model):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str | None = None
    password_env: str | None = None
    sender: str = "Sanctuary Watch <alerts@localhost>"
    rate: float = Field(default=50.0, gt=0)  # messages per second at most, over all connections
    connections: int = Field(default=1, ge=1, le=16)  # sent over this many connections at once
    timeout: float = 30.0
    # waits after each temporarily failed attempt (4xx, no connection); then the digest is dead. ~20 h in all.
    retry: tuple[float, ...] = (60.0, 300.0, 1800.0, 7200.0, 21600.0, 43200.0)
    bounce_limit: int = Field(default=3, ge=1)  # refusals (5xx) in a row before a subscriber is bouncing

    _durations = field_validator("timeout", mode="before")(_duration)

    @field_validator("retry", mode="before")
    @classmethod
    def _retry(cls, v: Any) -> tuple[float, ...]:
        if not isinstance(v, (list, tuple)):
            raise ValueError("retry must be a list of durations, like [1m, 5m, 30m, 2h]")
        return tuple(parse_duration(x) for x in v)


class WebhookSettings(_Model):
    # waits after each failed attempt; the first attempt is immediate. ~27 h in all.
    retry: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    jitter: float = Field(default=0.2, ge=0.0, lt=1.0)  # each wait spread over (1-jitter)..(1+jitter)
    timeout: float = Field(default=15.0, gt=0)  # one attempt, connect to answer
    disable_after: float = 5 * 86400.0  # an endpoint failing every attempt for this long is disabled

    _durations = field_validator("timeout", "disable_after", mode="before")(_duration)

    @field_validator("retry", mode="before")
    @classmethod
    def _schedule(cls, v: Any) -> tuple[float, ...]:
        if not isinstance(v, (list, tuple)):
            raise ValueError("retry must be a list of durations, like [5s, 5m, 30m, 2h]")
        return tuple(parse_duration(x) for x in v)


class Settings(_Model):
    public_url: str = "http://localhost:8080"
    listen: str = "127.0.0.1:8080"
    timezone: str = "America/New_York"
    user_agent: str = "Mozilla/5.0 (compatible; SanctuaryWatch/0.1; +https://github.com/sanctuary-watch)"
    max_age: float = 14 * 86400.0  # items first seen but published earlier are stored, not alerted
    fetch: FetchSettings = FetchSettings()
    smtp: SmtpSettings | None = None
    templates: str | None = None  # a directory whose templates take precedence over the packaged ones
    webhooks: WebhookSettings = WebhookSettings()

    _zone = field_validator("timezone")(_zone)
    _durations = field_validator("max_age", mode="before")(_duration)

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        return check_listen(v)


def check_listen(v: str) -> str:
    if not re.fullmatch(r"[\w.\-\[\]:]*:\d{1,5}", v):
        raise ValueError(f"listen must be HOST:PORT, got {v!r}")
    return v


class Filter(_Model):
    kinds: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)

    @field_validator("kinds")
    @classmethod
    def _kinds(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for k in v:
            if k not in KINDS:
                raise ValueError(f"unknown kind {k!r} (valid: {', '.join(KINDS)})")
        return v


class Subscriber(_Model):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    schedule: Schedule = Schedule("daily", 7, 0)
    timezone: str | None = None
    filter: Filter = Filter()

    _zone = field_validator("timezone")(lambda v: v if v is None else _zone(v))

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, v: Any) -> Schedule:
        return v if isinstance(v, Schedule) else parse_schedule(str(v))


class Webhook(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = None
    format: Literal["standard", "slack"] = "standard"
    filter: Filter = Filter()
    allow_private: bool = False
    enabled: bool = True


class _Document(_Model):
    settings: Settings = Settings()
    sources: list[dict[str, Any]] = Field(default_factory=list)
    subscribers: tuple[Subscriber, ...] = ()
    webhooks: tuple[Webhook, ...] = ()


@dataclass(frozen=True)
class Config:
    path: str
    settings: Settings
    sources: tuple[SourceOptions, ...]
    subscribers: tuple[Subscriber, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False)  # env name -> value

    def source(self, name: str) -> SourceOptions:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


# --- YAML with lines -------------------------------------------------------


# A real sources.yaml has a few thousand values, a few levels deep. YAML aliases can make a small file
# expand without bound (the "billion laughs" of YAML) or refer to themselves: both are refused, by line.
MAX_VALUES = 200_000
MAX_DEPTH = 40


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_VALUES


def _plain(node: yaml.Node, loader: yaml.SafeLoader, loc: Loc, lines: dict[Loc, int], file: str,
           budget: _Budget | None = None) -> Any:
    budget = budget or _Budget()
    budget.left -= 1
    if budget.left < 0:
        raise ConfigError(file, node.start_mark.line + 1,
                          f"the document expands to more than {MAX_VALUES:,} values (through YAML aliases?)")
    if len(loc) > MAX_DEPTH:
        raise ConfigError(file, node.start_mark.line + 1,
                          f"nested more than {MAX_DEPTH} levels deep (a YAML alias that contains itself?)")
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(file, key_node.start_mark.line + 1, "mapping keys must be plain words")
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise ConfigError(file, key_node.start_mark.line + 1, "mapping keys must be plain words")
            if key in out:
                raise ConfigError(file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            out[key] = _plain(value_node, loader, (*loc, key), lines, file, budget)
            lines[(*loc, key)] = key_node.start_mark.line + 1  # a key's errors point at the key
            lines[(*loc, key, "<value>")] = value_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(n, loader, (*loc, i), lines, file, budget) for i, n in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _compose(text: str, file: str) -> tuple[Any, dict[Loc, int]]:
    try:
        loader = yaml.SafeLoader(text)  # its reader refuses control characters here, before any parsing
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1 if isinstance(e.position, int) else 1
        raise ConfigError(file, line, f"not valid YAML: {e.reason} (#x{e.character:04x})" if isinstance(e.character, int)
                          else f"not valid YAML: {e.reason}") from None
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        data = _plain(node, loader, (), lines, file) if node is not None else {}
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(file, line, f"not valid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise ConfigError(file, 1, "not valid YAML: " + " ".join(str(e).split())) from None
    except RecursionError:  # the composer recurses once per level of a nested [[[...]]] or {{{...}}}
        raise ConfigError(file, 1, f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(file, 1, "the top level must be a mapping with settings, sources, subscribers, webhooks")
    return data, lines


def _line_of(loc: Loc, lines: Mapping[Loc, int]) -> int:
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def _first_error(e: ValidationError, prefix: Loc, file: str, lines: Mapping[Loc, int]) -> ConfigError:
    errors = []
    for err in e.errors():
        loc = (*prefix, *(p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")))
        line = _line_of(loc, lines)
        name = next((p for p in reversed(loc) if isinstance(p, str)), "")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {name!r}"
        elif err["type"] == "missing":
            msg = f"missing required key {name!r}"
        else:
            reason = str(err["msg"]).removeprefix("Value error, ")
            msg = f"{name}: {reason}" if name else reason
        errors.append((line, msg))
    line, msg = min(errors)
    return ConfigError(file, line, msg)


def _check_env(name: str | None, env: Mapping[str, str], file: str, line: int, what: str, secrets: dict[str, str]) -> None:
    if name is None:
        return
    value = env.get(name)
    if not value:
        raise ConfigError(file, line, f"environment variable {name} ({what}) is not set")
    secrets[name] = value


def _check_places(f: Filter, loc: Loc, file: str, lines: Mapping[Loc, int]) -> None:
    """Every place a filter names must be one the gazetteer knows (it is matched by FIPS code)."""
    from watcher.deliver.places import known_name, resolve, state_code

    for k, text in enumerate(f.jurisdictions):
        text = text.strip()
        bare = not text.isdigit() and "," not in text and state_code(text) is None
        if (known_name(text) if bare else resolve(text) is not None):
            continue
        line = _line_of((*loc, "filter", "jurisdictions", k), lines)
        hint = "a FIPS code the gazetteer knows" if text.isdigit() else "a place like 'Chicago, IL', 'Cook County, IL' or 'Illinois'"
        raise ConfigError(file, line, f"jurisdictions: unknown place {text!r} (expected {hint})")


def parse_config(text: str, file: str, env: Mapping[str, str]) -> Config:
    data, lines = _compose(text, file)
    try:
        doc = _Document.model_validate(data)
    except ValidationError as e:
        raise _first_error(e, (), file, lines) from None
    listen = env.get("WATCHER_LISTEN")  # a container listens on 0.0.0.0 whatever its mounted config says
    if listen:
        try:
            doc = doc.model_copy(update={"settings": doc.settings.model_copy(update={"listen": check_listen(listen)})})
        except ValueError as e:
            raise ConfigError(file, _line_of(("settings", "listen", "<value>"), lines), f"WATCHER_LISTEN: {e}") from None

    secrets: dict[str, str] = {}
    sources: list[SourceOptions] = []
    names: set[str] = set()
    for i, raw in enumerate(doc.sources):
        loc: Loc = ("sources", i)
        if not isinstance(raw, dict):
            raise ConfigError(file, _line_of(loc, lines), "each source must be a mapping")
        kind = raw.get("kind")
        if kind is None:
            raise ConfigError(file, _line_of(loc, lines), "missing required key 'kind' (feed, html, json or list)")
        try:
            cls = kind_class(str(kind))
        except KeyError as e:
            raise ConfigError(file, _line_of((*loc, "kind", "<value>"), lines), str(e.args[0])) from None
        try:
            opts = cls.Options.model_validate(raw)
        except ValidationError as e:
            raise _first_error(e, loc, file, lines) from None
        if opts.name in names:
            raise ConfigError(file, _line_of((*loc, "name", "<value>"), lines), f"duplicate source name {opts.name!r}")
        names.add(opts.name)
        if opts.enabled:
            _check_env(getattr(opts, "token_env", None), env, file, _line_of((*loc, "token_env"), lines), "API token", secrets)
        sources.append(opts)

    smtp = doc.settings.smtp
    if smtp is not None:
        for key in ("username_env", "password_env"):
            _check_env(getattr(smtp, key), env, file, _line_of(("settings", "smtp", key), lines), f"SMTP {key[:-4]}", secrets)

    seen_hooks: set[str] = set()
    for i, hook in enumerate(doc.webhooks):
        if hook.name in seen_hooks:
            raise ConfigError(file, _line_of(("webhooks", i, "name"), lines), f"duplicate webhook name {hook.name!r}")
        seen_hooks.add(hook.name)
        if hook.format == "standard" and not hook.secret_env:
            line = _line_of(("webhooks", i), lines)
            raise ConfigError(file, line, "a standard webhook needs secret_env: events are always signed")
        if hook.enabled:
            _check_env(hook.secret_env, env, file, _line_of(("webhooks", i, "secret_env"), lines), "webhook secret", secrets)
            if hook.secret_env and hook.format == "standard":
                for secret in secrets[hook.secret_env].split():
                    if not secret.startswith("whsec_"):
                        line = _line_of(("webhooks", i, "secret_env"), lines)
                        raise ConfigError(file, line, f"{hook.secret_env} must hold whsec_... secrets (space-separated during rotation)")

    seen_emails: set[str] = set()
    for i, sub in enumerate(doc.subscribers):
        if sub.email.lower() in seen_emails:
            raise ConfigError(file, _line_of(("subscribers", i, "email"), lines), f"duplicate subscriber {sub.email!r}")
        seen_emails.add(sub.email.lower())
        _check_places(sub.filter, ("subscribers", i), file, lines)
    for i, hook in enumerate(doc.webhooks):
        _check_places(hook.filter, ("webhooks", i), file, lines)

    if doc.settings.templates is not None:
        folder = (Path(file).parent / doc.settings.templates) if file else Path(doc.settings.templates)
        if not folder.is_dir():
            line = _line_of(("settings", "templates", "<value>"), lines)
            raise ConfigError(file, line, f"templates: no such directory {str(folder)!r}")

    return Config(
        path=file,
        settings=doc.settings,
        sources=tuple(sources),
        subscribers=doc.subscribers,
        webhooks=doc.webhooks,
        secrets=secrets,
    )


DEFAULT_CONFIG = Path(__file__).with_name("sources.yaml")


def load_config(path: str | Path | None, env: Mapping[str, str]) -> Config:
    """Read and validate a config file; `None` means the embedded default."""
    p = Path(path) if path is not None else DEFAULT_CONFIG
    shown = str(path) if path is not None else "sources.yaml"
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(shown, 1, "no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(shown, 1, f"cannot read: {e}") from None
    return parse_config(text, shown, env)
