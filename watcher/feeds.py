"""Stories as feeds: JSON Feed 1.1 and Atom 1.0, and the query that picks them. Pure.

Every piece of outside text is flattened (control characters dropped, so the XML
stays well-formed) and then escaped by the serialiser (`json`, ElementTree):
nothing is put together by string concatenation. Links are kept only when they
are http(s). The classification of a story travels in JSON Feed's `_sanctuary`
extension object, and in Atom as a `category` (the kind) plus the text.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from watcher.deliver.digest import one_line, safe_url
from watcher.deliver.filters import parse_place
from watcher.deliver.webhooks import KIND_LABELS, place_label
from watcher.domain import KINDS, Story, iso_utc

JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EXTENSION_ABOUT = "https://github.com/sanctuary-watch/sanctuary-watch/blob/main/docs/web.md"
ATOM = "http://www.w3.org/2005/Atom"
FEED_TITLE = "Sanctuary Watch"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
TEXT_CHARS = 4000
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


class QueryError(ValueError):
    """A query string the web face refuses (400), with a message for the reader."""


@dataclass(frozen=True)
class StoryQuery:
    """`?kind=ruling&kind=lawsuit&jurisdiction=Chicago, IL&limit=20&all=1`.

    kinds and jurisdictions are ORed within each, ANDed across (as a filter in
    sources.yaml); `all` also takes stories nobody was alerted to (silent
    baseline stories)."""

    kinds: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()
    limit: int = DEFAULT_LIMIT
    all: bool = False

    @classmethod
    def parse(cls, query: Mapping[str, str] | Any) -> StoryQuery:
        """From a multidict (aiohttp's `request.query`): repeated keys, or comma-free single values."""
        getall = query.getall if hasattr(query, "getall") else (lambda k, d=(): [query[k]] if k in query else list(d))
        kinds = tuple(dict.fromkeys(k.strip() for k in getall("kind", ()) if k.strip()))
        unknown = [k for k in kinds if k not in KINDS]
        if unknown:
            raise QueryError(f"unknown kind {unknown[0]!r}; kinds are {', '.join(KINDS)}")
        places = tuple(dict.fromkeys(one_line(p, 100) for p in getall("jurisdiction", ()) if p.strip()))
        raw = (getall("limit", ()) or [str(DEFAULT_LIMIT)])[-1].strip() or str(DEFAULT_LIMIT)
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}")
        everything = (getall("all", ()) or ["0"])[-1].strip().lower() in ("1", "true", "yes", "on")
        return cls(kinds, places, int(raw), everything)

    def wants_place(self, story: Story) -> bool:
        if not self.jurisdictions:
            return True
        specs = [parse_place(p) for p in self.jurisdictions]
        return any(s.matches(j) for s in specs for j in story.jurisdictions)

    def params(self) -> list[tuple[str, str]]:
        """The query back as (key, value) pairs (for links that keep it)."""
        out = [("kind", k) for k in self.kinds] + [("jurisdiction", p) for p in self.jurisdictions]
        if self.limit != DEFAULT_LIMIT:
            out.append(("limit", str(self.limit)))
        if self.all:
            out.append(("all", "1"))
        return out


def clean(text: str, limit: int = TEXT_CHARS) -> str:
    """Outside text for a feed: valid XML characters only, and not longer than `limit`."""
    text = _NOT_XML.sub("", text or "")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def places(story: Story) -> list[str]:
    return [one_line(place_label(j.name, j.state, j.kind), 100) for j in story.jurisdictions]


def story_url(base: str, story_id: str) -> str:
    return f"{base.rstrip('/')}/stories/{quote(story_id, safe='')}"


def content_text(story: Story) -> str:
    """A story as plain text: kind and places, the evidence, then each report."""
    head = KIND_LABELS.get(story.kind, story.kind)
    where = places(story)
    lines = [f"{head}: {', '.join(where)}" if where else head]
    if story.reasons:
        lines.append("Why: " + "; ".join(one_line(r, 200) for r in story.reasons))
    for ref in story.items:
        lines.append("")
        lines.append(f"{one_line(ref.source, 60)}: {one_line(ref.title)}")
        if ref.summary:
            lines.append(one_line(ref.summary, 500))
        if safe_url(ref.url):
            lines.append(safe_url(ref.url))
    return clean("\n".join(lines))


def _sanctuary(story: Story) -> dict[str, Any]:
    return {
        "about": EXTENSION_ABOUT,
        "kind": story.kind,
        "score": round(story.score, 3),
        "jurisdictions": [j.as_dict() for j in story.jurisdictions],
        "reasons": [clean(r, 300) for r in story.reasons],
        "sources": [
            {"source": ref.source, "title": clean(ref.title, 300), "url": safe_url(ref.url),
             "published": iso_utc(ref.published)}
            for ref in story.items
        ],
    }


def json_feed(stories: Sequence[Story], base: str, feed_url: str) -> dict[str, Any]:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1) of `stories`, in the order given."""
    items = []
    for s in stories:
        item: dict[str, Any] = {
            "id": s.id,
            "url": story_url(base, s.id),
            "title": one_line(s.title) or "(untitled)",
            "content_text": content_text(s),
            "date_published": iso_utc(s.first_seen),
            "date_modified": iso_utc(s.updated),
            "tags": [s.kind],
            "_sanctuary": _sanctuary(s),
        }
        lead = next((safe_url(r.url) for r in s.items if safe_url(r.url)), "")
        if lead:
            item["external_url"] = lead
        items.append(item)
    return {
        "version": JSON_FEED_VERSION,
        "title": FEED_TITLE,
        "home_page_url": base.rstrip("/") + "/",
        "feed_url": feed_url,
        "description": "Developments on US sanctuary-jurisdiction policy, grouped into stories and classified.",
        "language": "en-US",
        "items": items,
    }


def json_body(feed: dict[str, Any]) -> bytes:
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def atom_feed(stories: Sequence[Story], base: str, feed_url: str) -> bytes:
    """Atom 1.0 (RFC 4287) of `stories`, serialised by ElementTree (which escapes)."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM}}}feed")
    sub(feed, "id", feed_url)
    sub(feed, "title", FEED_TITLE)
    sub(feed, "updated", iso_utc(max((s.updated for s in stories), default=0.0)))
    sub(feed, "link", rel="self", href=feed_url, type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=base.rstrip("/") + "/", type="text/html")
    author = sub(feed, "author")
    sub(author, "name", FEED_TITLE)
    for s in stories:
        entry = sub(feed, "entry")
        url = story_url(base, s.id)
        sub(entry, "id", url)
        sub(entry, "title", clean(one_line(s.title) or "(untitled)"), type="text")
        sub(entry, "published", iso_utc(s.first_seen))
        sub(entry, "updated", iso_utc(s.updated))
        sub(entry, "link", rel="alternate", href=url, type="text/html")
        for ref in s.items:
            if safe_url(ref.url):
                sub(entry, "link", rel="related", href=clean(safe_url(ref.url)), title=clean(one_line(ref.title, 200)))
        sub(entry, "category", term=s.kind, label=KIND_LABELS.get(s.kind, s.kind))
        for p in places(s):
            sub(entry, "category", term=clean(p), scheme=base.rstrip("/") + "/jurisdictions")
        sub(entry, "summary", content_text(s), type="text")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def etag_matches(header: str | None, tag: str) -> bool:
    """If-None-Match: `*`, or a list of (possibly weak) tags, one of which is `tag`."""
    if not header:
        return False
    wanted = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in wanted or tag in wanted
