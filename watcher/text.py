"""Text normalisation shared by parsers, detection and rendering: pure functions."""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dateutil import parser as dateutil_parser

_DROP_BLOCKS = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_COMMENTS = re.compile(r"<!--.*?-->", re.DOTALL)
_BREAKS = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|/tr|/blockquote|p|div|li|h[1-6])\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]{0,2000}>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

_PLAIN_URL = re.compile(r"https?://([a-z0-9.-]+[a-z0-9])(/[^?#]*)?$")
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "_hsenc", "_hsmi", "ref", "ref_src", "cmpid", "ocid"}
)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML fragment, paragraphs kept as newlines.

    Regex-based on purpose: it runs on every item of every feed and needs to be
    fast; it is used for classification and plain-text display, never to
    produce HTML (rendering escapes whatever this returns).
    """
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return clean_text(markup)
    s = _COMMENTS.sub(" ", markup)
    s = _DROP_BLOCKS.sub(" ", s)
    s = _BREAKS.sub("\n", s)
    s = _TAGS.sub(" ", s)
    return clean_text(html.unescape(s))


def clean_text(s: str) -> str:
    """Control characters out, runs of spaces folded, paragraphs kept as single newlines."""
    if _CONTROL.search(s):
        s = _CONTROL.sub("", s)
    if "\u200b" in s:
        s = s.replace("\u200b", "")
    if "\n" not in s and "\r" not in s:
        return " ".join(s.split())
    return "\n".join(line for line in (" ".join(p.split()) for p in s.splitlines()) if line)


def one_line(s: str) -> str:
    """For titles: no newlines at all (a CRLF in a title must never reach a header)."""
    if _CONTROL.search(s):
        s = _CONTROL.sub("", s)
    return " ".join(s.replace("\u200b", "").split())


def safe_url(url: str) -> str:
    """The URL if it is http(s) and has no whitespace or control characters in it, else '': the only
    links any output carries (pages, feeds, mail, webhooks); a `javascript:` or `data:` link is dropped."""
    url = (url or "").strip()
    if not re.match(r"(?i)^https?://[^\s\x00-\x1f\x7f]+$", url) or len(url) > 2000:
        return ""
    return url


def normalise_title(title: str) -> str:
    """Lower-case words only: for comparing titles across rewrites and sources."""
    return " ".join(re.findall(r"[a-z0-9]+", title.lower()))


def canonical_url(url: str) -> str:
    """The identity form of a URL: lower-case scheme and host, no default port,
    no fragment, no tracking parameters, http and https taken as one."""
    url = url.strip()
    if not url:
        return ""
    plain = _PLAIN_URL.match(url)
    if plain:  # the common case: no query, fragment, port or capitals in the host
        path = plain.group(2) or "/"
        return f"https://{plain.group(1)}{path[:-1] if len(path) > 1 and path.endswith('/') else path}"
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        scheme = "https"
    host = (parts.hostname or "").lower().rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = parts.query
    if query:
        query = urlencode(
            [
                (k, v)
                for k, v in parse_qsl(query, keep_blank_values=True)
                if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
            ]
        )
    path = parts.path or "/"
    if len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return urlunsplit((scheme, netloc, path, query, ""))


def digest(*parts: str) -> str:
    """A short stable hash of some text parts (content hashes, alternative keys)."""
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def parse_date(value: object) -> datetime | None:
    """A timestamp in any of the forms sources use, as an aware UTC datetime.

    Epoch seconds (DOJ's strings too), ISO 8601, RFC 822 (RSS), GDELT's
    20260515T011500Z, and written dates ("June 3, 2025"). Unreadable -> None.
    A date without a zone is taken as UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) or (isinstance(value, str) and value.strip().isdigit() and len(value.strip()) >= 9):
        try:
            return datetime.fromtimestamp(int(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        s = str(value).strip()
        try:
            dt = datetime.fromisoformat(s)  # the common case, and by far the cheapest
        except ValueError:
            try:
                dt = parsedate_to_datetime(s)
            except (TypeError, ValueError, IndexError):
                try:
                    dt = dateutil_parser.parse(s, fuzzy=False)
                except (ValueError, OverflowError, TypeError):
                    return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
