"""Pages whose rows form a set: each added or removed row is news."""

from __future__ import annotations

from watcher.domain import Entry
from watcher.sources.base import SourceKind, SourceOptions, register
from watcher.sources.html import soup_of
from watcher.text import normalise_title, one_line


class ListOptions(SourceOptions):
    rows: str = "li"  # CSS selector of one row
    scope: str | None = None  # CSS selector of the part of the page that holds the list
    label: str = "the list"
    describe: str = "{action} {label}: {row}."


@register
class RowSet(SourceKind):
    """A page whose rows form a set, such as the DOJ sanctuary-jurisdiction
    list. Each row's text is one member. When a row appears, the item "Added
    to {label}: {row}" is raised; when one disappears, "Removed from {label}:
    {row}". `describe` is the item's summary, with {action}, {label}, {row}."""

    name = "list"
    Options = ListOptions
    is_set = True

    def parse(self, body: bytes, content_type: str = "") -> list[Entry]:
        o: ListOptions = self.options  # type: ignore[assignment]
        root = soup_of(body)
        scopes = root.select(o.scope) if o.scope else [root]
        seen: dict[str, Entry] = {}
        for scope in scopes:
            for node in scope.select(o.rows):
                text = one_line(node.get_text(" "))
                key = normalise_title(text)
                if key and key not in seen:
                    seen[key] = Entry(title=text, key=key)
        return list(seen.values())

    def describe(self, action: str, row: str) -> tuple[str, str]:
        """Title and summary of a membership change."""
        o: ListOptions = self.options  # type: ignore[assignment]
        verb = {"added": "Added to", "removed": "Removed from"}[action]
        title = f"{verb} {o.label}: {row}"
        return title, o.describe.format(action=verb, label=o.label, row=row)
