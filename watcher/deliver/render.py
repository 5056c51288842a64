"""Templates -> text: digests (plain text and HTML with its CSS inlined) and the web face's pages.

The packaged templates are in `watcher/templates/` (the top-level `templates/`
links to them); a directory named by `settings.templates` is searched first, so
an operator overrides a template by putting a file of the same name there.
HTML templates are autoescaped. CSS is inlined with css-inline, which is told
never to load a remote stylesheet.

`Bodies` reuses a rendered digest across the subscribers whose digests say the
same thing (the same stories, each new or an update, the same filter, the same
day): they differ only in the unsubscribe link's token, which is put into the
rendered text and HTML in place of a random marker.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Hashable
from dataclasses import dataclass
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


# An unsubscribe token as it stands in the link (`quote(token, safe='')`): nothing in it that HTML escaping,
# CSS inlining or plain text would change, so it can be put in the rendered output as it is.
_TOKEN_IN_URL = re.compile(r"[A-Za-z0-9_.~%-]+")


@dataclass(frozen=True)
class _Kept:
    view: DigestView
    text: list[str] | None  # the rendered text cut at each marker; None: this one is rendered afresh every time
    html: list[str] | None


class Bodies:
    """Digests rendered once per distinct content, for one round of sending.

    The first time a key (what the digest says) is asked for, its view is built and rendered as usual. The
    second time, it is also rendered with a random marker in place of the token and checked: the marker swapped
    for this subscriber's token must give exactly the direct render, text and HTML, byte for byte. If it does,
    the rendered pieces between markers are kept, and every later digest of that key is those pieces joined by
    its own token (no template, no CSS inlining); if not (a template that does more with `unsubscribe_url`
    than print it), that key is rendered afresh every time. At most `limit` keys are kept.
    """

    def __init__(self, renderer: Renderer, limit: int = 1024):
        self.renderer = renderer
        self.limit = limit
        self.marker = "x" + secrets.token_hex(16)
        self._seen: dict[Hashable, DigestView | _Kept] = {}
        self.reused = 0  # digests made from kept pieces

    def get(self, key: Hashable, make_view: Callable[[], DigestView], prefix: str, token: str) -> tuple[DigestView, str, str]:
        """(view, text, HTML) of a digest whose unsubscribe link is `prefix + token` (`token` as in the URL)."""
        seen = self._seen.get(key)
        if isinstance(seen, _Kept):
            if seen.text is not None and seen.html is not None and _TOKEN_IN_URL.fullmatch(token):
                self.reused += 1
                return seen.view, token.join(seen.text), token.join(seen.html)
            return (seen.view, *self.renderer.digest(seen.view, prefix + token))
        view = seen if seen is not None else make_view()
        text, html = self.renderer.digest(view, prefix + token)
        if len(self._seen) >= self.limit:
            self._seen.clear()
        if seen is None:
            self._seen[key] = view
            return view, text, html
        marked_text, marked_html = self.renderer.digest(view, prefix + self.marker)
        pieces_text, pieces_html = marked_text.split(self.marker), marked_html.split(self.marker)
        same = (_TOKEN_IN_URL.fullmatch(token) is not None and token.join(pieces_text) == text
                and token.join(pieces_html) == html)
        self._seen[key] = _Kept(view, pieces_text, pieces_html) if same else _Kept(view, None, None)
        return view, text, html
