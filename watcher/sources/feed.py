"""RSS 0.9x/1.0/2.0 and Atom feeds."""

from __future__ import annotations

import codecs
import re
from typing import Any, Literal

import fastfeedparser
import feedparser

from watcher.domain import Entry
from watcher.sources.base import ParseError, SourceKind, SourceOptions, register
from watcher.text import html_to_text, one_line, parse_date

# Real feeds never declare entities; a feed that does is refused before any
# parser sees it (billion laughs, external entities).
_ENTITY_DECL = b"<!ENTITY"
# The same declaration in a UTF-16 document that has no byte-order mark.
_ENTITY_DECL_16 = ("<!ENTITY".encode("utf-16-le"), "<!ENTITY".encode("utf-16-be"))

# A byte-order mark decides the encoding, whatever the XML declaration says (XML 1.0
# appendix F, RFC 7303 section 3): UTF-32's marks first, as they begin with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_DECLARED_ENCODING = re.compile(rb"""\A(<\?xml[^>]*?\sencoding\s*=\s*)(["'])[^"']*\2""")


class FeedOptions(SourceOptions):
    parser: Literal["auto", "feedparser"] = "auto"


@register
class Feed(SourceKind):
    """An RSS or Atom feed: the DOJ, ICE, White House, GovInfo, CourtListener and
    Google News feeds. Each entry's guid/id is its key; `content:encoded` is the
    body. Parsed by fastfeedparser, with feedparser as the fallback for feeds the
    fast path cannot read (`parser: feedparser` forces the fallback)."""

    name = "feed"
    Options = FeedOptions

    def parse(self, body: bytes, content_type: str = "") -> list[Entry]:
        return parse_feed(body, fast=self.options.parser == "auto")  # type: ignore[attr-defined]


def parse_feed(body: bytes, fast: bool = True) -> list[Entry]:
    body = _by_bom(body)
    head = body[:65536]
    if _ENTITY_DECL in head.upper() or any(d in head for d in _ENTITY_DECL_16):
        raise ParseError("document declares XML entities; refused")
    if fast:
        try:
            parsed = fastfeedparser.parse(body, include_tags=False, include_media=False, include_enclosures=False)
            entries = [_fast_entry(e) for e in parsed.get("entries", ())]
            if entries:
                return entries
        except Exception:  # noqa: BLE001 - any failure of the fast path means: try the careful one
            pass
    return _slow_parse(body)


def _by_bom(body: bytes) -> bytes:
    """A document with a byte-order mark, as UTF-8 without the mark and with its declaration saying so.

    The parsers would otherwise believe a declaration that contradicts the mark (a UTF-8 feed
    declared iso-8859-1 read as mojibake). A document its mark cannot decode is left as it is,
    for the parsers to refuse."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            try:
                text = body[len(bom) :].decode(codec)
            except UnicodeDecodeError:
                return body
            return _DECLARED_ENCODING.sub(rb'\1"utf-8"', text.encode("utf-8"), count=1)
    return body


def _fast_entry(e: Any) -> Entry:
    content = e.get("content") or ()
    body = content[0].get("value", "") if content else ""
    summary = e.get("description") or e.get("summary") or ""
    return Entry(
        title=one_line(html_to_text(e.get("title") or "")),
        url=(e.get("link") or "").strip(),
        key=(e.get("id") or "").strip(),
        summary=html_to_text(summary),
        body=html_to_text(body) if body and body != summary else "",
        published=parse_date(e.get("published") or e.get("updated")),
    )


def _slow_parse(body: bytes) -> list[Entry]:
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        why = parsed.get("bozo_exception") or "no RSS or Atom root element"
        raise ParseError(f"not a readable feed: {why!s:.200}")
    out = []
    for e in parsed.entries:
        content = e.get("content") or ()
        body_html = content[0].get("value", "") if content else ""
        summary = e.get("summary", "")
        when = e.get("published_parsed") or e.get("updated_parsed")
        published = None
        if when:
            from calendar import timegm

            published = parse_date(timegm(when))
        out.append(
            Entry(
                title=one_line(html_to_text(e.get("title", ""))),
                url=(e.get("link") or "").strip(),
                key=(e.get("id") or "").strip(),
                summary=html_to_text(summary),
                body=html_to_text(body_html) if body_html and body_html != summary else "",
                published=published,
            )
        )
    return out
