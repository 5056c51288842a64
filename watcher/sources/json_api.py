"""JSON APIs: a declared path to the list of items and a mapping of fields."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urljoin

from pydantic import Field, model_validator

from watcher.domain import Entry
from watcher.sources.base import ParseError, SourceKind, SourceOptions, register
from watcher.text import html_to_text, one_line, parse_date

# Facts about the real APIs (../shared/design/SOURCES.md): where the items are and
# what their fields are called.
PRESETS: dict[str, dict[str, Any]] = {
    "doj": {
        "items": "results",
        "fields": {"key": "uuid", "title": "title", "url": "url", "summary": "teaser", "body": "body", "published": "date"},
        "base_url": "https://www.justice.gov",
    },
    "federal_register": {
        "items": "results",
        "fields": {
            "key": "document_number",
            "title": "title",
            "url": "html_url",
            "summary": "abstract",
            "published": "publication_date",
        },
        "append": {"Executive Order": "executive_order_number", "Document type": "type"},
    },
    "courtlistener": {
        "items": "results",
        "fields": {
            "key": "cluster_id",
            "title": "caseName",
            "url": "absolute_url",
            "summary": "opinions.0.snippet",
            "published": "dateFiled",
        },
        "append": {"Court": "court", "Docket": "docketNumber"},
        "base_url": "https://www.courtlistener.com",
        "auth_scheme": "Token",
    },
}

FIELD_NAMES = ("key", "title", "url", "summary", "body", "published")


class JsonOptions(SourceOptions):
    preset: str | None = None
    items: str = ""
    fields: dict[str, str] = Field(default_factory=dict)
    append: dict[str, str] = Field(default_factory=dict)
    base_url: str | None = None
    token_env: str | None = None
    auth_header: str = "Authorization"
    auth_scheme: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("preset") is not None:
            preset = PRESETS.get(data["preset"]) if isinstance(data["preset"], str) else None
            if preset is None:
                raise ValueError(f"unknown preset {data['preset']!r} (valid: {', '.join(PRESETS)})")
            fields = data.get("fields") or {}
            if not isinstance(fields, dict):
                raise ValueError("fields must be a mapping of field names to paths")
            merged = dict(preset)
            merged["fields"] = {**preset.get("fields", {}), **fields}
            merged.update({k: v for k, v in data.items() if k != "fields"})
            return merged
        return data

    @model_validator(mode="after")
    def _check_fields(self) -> "JsonOptions":
        unknown = set(self.fields) - set(FIELD_NAMES)
        if unknown:
            raise ValueError(f"unknown field {sorted(unknown)[0]!r} in fields (valid: {', '.join(FIELD_NAMES)})")
        if "title" not in self.fields:
            raise ValueError("fields needs at least 'title' (or use a preset: doj, federal_register, courtlistener)")
        return self


def pluck(obj: Any, path: str) -> Any:
    """Follow a dotted path ('opinions.0.snippet') through dicts and lists."""
    if not path:
        return obj
    for part in path.split("."):
        if isinstance(obj, dict):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


@register
class JsonApi(SourceKind):
    """A JSON API: `items` is the dotted path to the list of records and `fields`
    maps key/title/url/summary/body/published to dotted paths in a record.
    Presets: `doj` (DOJ News API), `federal_register`, `courtlistener` (send
    the API token from the environment variable named by `token_env`)."""

    name = "json"
    Options = JsonOptions

    def __init__(self, options: SourceOptions, env: dict[str, str] | None = None):
        super().__init__(options, env)
        o: JsonOptions = options  # type: ignore[assignment]
        self._token = (env or {}).get(o.token_env) if o.token_env else None

    def request_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", **super().request_headers()}
        o: JsonOptions = self.options  # type: ignore[assignment]
        if self._token:
            headers[o.auth_header] = f"{o.auth_scheme} {self._token}" if o.auth_scheme else self._token
        return headers

    def parse(self, body: bytes, content_type: str = "") -> list[Entry]:
        o: JsonOptions = self.options  # type: ignore[assignment]
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            raise ParseError(f"not JSON: {e}") from None
        records = pluck(doc, o.items)
        if not isinstance(records, list):
            raise ParseError(f"no list of items at {o.items or 'the top level'!r}")
        base = o.base_url or o.url
        out = []
        for rec in records:
            if not isinstance(rec, dict):
                continue

            def get(name: str, rec: dict[str, Any] = rec) -> Any:
                return pluck(rec, o.fields[name]) if name in o.fields else None

            title = one_line(html_to_text(str(get("title") or "")))
            if not title:
                continue
            url = str(get("url") or "")
            notes = [f"{label}: {v}." for label, path in o.append.items() if (v := pluck(rec, path)) not in (None, "", [])]
            summary = html_to_text(str(get("summary") or ""))
            out.append(
                Entry(
                    title=title,
                    url=urljoin(base, url) if url else "",
                    key=str(get("key") or ""),
                    summary=" ".join([summary, *notes]).strip(),
                    body=html_to_text(str(get("body") or "")),
                    published=parse_date(get("published")),
                )
            )
        return out
