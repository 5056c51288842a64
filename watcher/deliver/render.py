"""Templates -> text: digests (plain text and HTML with its CSS inlined) and the web face's pages.

The packaged templates are in `watcher/templates/` (the top-level `templates/`
links to them); a directory named by `settings.templates` is searched first, so
an operator overrides a template by putting a file of the same name there.
HTML templates are autoescaped. CSS is inlined with css-inline, which is told
never to load a remote stylesheet.
"""

from __future__ import annotations

from pathlib import Path

import css_inline
import jinja2

from watcher.deliver.digest import DigestView

PACKAGED = Path(__file__).resolve().parent.parent / "templates"


class Renderer:
    def __init__(self, override: Path | None = None):
        folders = [str(override)] if override is not None else []
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*folders, str(PACKAGED)]),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        self._inliner = css_inline.CSSInliner(load_remote_stylesheets=False, keep_style_tags=False)

    def digest(self, view: DigestView, unsubscribe_url: str) -> tuple[str, str]:
        """(plain text, HTML with inline styles) of one digest."""
        ctx = {"d": view, "unsubscribe_url": unsubscribe_url}
        text = self.env.get_template("digest.txt").render(ctx)
        html = self.env.get_template("digest.html").render(ctx)
        return text, self._inliner.inline(html)

    def page(self, title: str, message: str, action: str | None = None, button: str = "") -> str:
        return self.env.get_template("page.html").render(title=title, message=message, action=action, button=button)
