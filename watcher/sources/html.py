"""Listing pages read through CSS selectors."""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup

from watcher.domain import Entry
from watcher.sources.base import ParseError, SourceKind, SourceOptions, register
from watcher.text import clean_text, one_line, parse_date


class HtmlOptions(SourceOptions):
    item: str
    title: str
    link: str | None = None  # default: the title element if it is a link, else its first link
    date: str | None = None
    date_attr: str | None = None  # e.g. "datetime" on a <time> element
    summary: str | None = None


def soup_of(body: bytes) -> BeautifulSoup:
    try:
        return BeautifulSoup(body, "lxml")
    except Exception as e:  # noqa: BLE001 - lxml's errors are many; all mean "unreadable page"
        raise ParseError(f"unreadable HTML: {e}") from None


@register
class HtmlListing(SourceKind):
    """A listing page (the ICE newsroom, DHS press releases): `item` selects each
    entry; `title`, `link`, `date` and `summary` select within it. The link is
    the item's key; relative links are resolved against the page URL."""

    name = "html"
    Options = HtmlOptions

    def parse(self, body: bytes, content_type: str = "") -> list[Entry]:
        o: HtmlOptions = self.options  # type: ignore[assignment]
        out = []
        for node in soup_of(body).select(o.item):
            t = node.select_one(o.title)
            if t is None:
                continue
            title = one_line(t.get_text(" "))
            link_el = node.select_one(o.link) if o.link else (t if t.name == "a" else t.find("a"))
            href = link_el.get("href") if link_el is not None else None
            url = urljoin(o.url, str(href)) if href else ""
            published = None
            if o.date and (d := node.select_one(o.date)) is not None:
                raw = d.get(o.date_attr) if o.date_attr else None
                published = parse_date(str(raw) if raw else d.get_text(" ").strip())
            summary = ""
            if o.summary and (s := node.select_one(o.summary)) is not None:
                summary = clean_text(s.get_text(" "))
            if title:
                out.append(Entry(title=title, url=url, key="", summary=summary, published=published))
        return out
