"""One digest as an email: headers and a multipart/alternative body. Pure: built from values.

Only our own values go into headers: the sender from the config, the
subscriber's configured address, the subject (outside text, flattened to one
line by `digest.one_line`, RFC 2047-encoded by the email package when it is not
ASCII), a Date and a Message-ID both fixed by the digest, so a re-send after a
crash is the same message. `List-Unsubscribe` carries the signed HTTPS link and
a mailto; `List-Unsubscribe-Post: List-Unsubscribe=One-Click` makes it
one-click (RFC 8058). Every header value is checked once more for CR and LF
before it is set.

The message is built with the stdlib's `email.mime` classes under the compat32
policy with CRLF line ends and 998-character header lines: about five times
faster than `EmailMessage` with `policy.SMTP` (which parses and refolds every
header), and it never folds a long List-Unsubscribe URL into RFC 2047 encoded
words (which `policy.SMTP` does, and which mail clients do not read as a URL).
Bodies are UTF-8 in base64.

The mailer sends `build_bytes`: the same bytes `build(...).as_bytes()` gives
(same headers, folding, boundary shape and base64 lines; a test holds them
equal), written straight out instead of through `email.generator`, which was
a third of the cost of a message.
"""

from __future__ import annotations

import binascii
import functools
import random
import sys
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, parseaddr
from urllib.parse import quote, urlsplit

from watcher.deliver.digest import one_line


class _Wire(policy.Compat32):
    """compat32 with CRLF and 998-character lines. Our header values are checked to be one line, so an
    ASCII one goes out as it is (no trip through `Header`, which was a third of the cost of a message)."""

    def _fold(self, name, value, sanitize):
        if isinstance(value, str) and value.isascii() and len(name) + len(value) + 2 <= self.max_line_length:
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


WIRE = _Wire(linesep="\r\n", max_line_length=998)


@dataclass(frozen=True)
class Envelope:
    sender: str  # the From header, "Name <address>"
    to: str
    subject: str
    digest_id: str
    made: datetime  # aware
    unsubscribe_url: str
    unsubscribe_mailto: str


def message_id(digest_id: str, public_url: str) -> str:
    host = urlsplit(public_url).hostname or "localhost"
    return f"<{digest_id}@{host}>"


def unsubscribe_prefix(public_url: str) -> str:
    """The unsubscribe link up to its token."""
    return f"{public_url.rstrip('/')}/unsubscribe?token="


def token_in_url(token: str) -> str:
    return quote(token, safe="")


def unsubscribe_url(public_url: str, token: str) -> str:
    return unsubscribe_prefix(public_url) + token_in_url(token)


def unsubscribe_mailto(sender: str, token: str) -> str:
    address = sender_address(sender) or "postmaster@localhost"
    return f"mailto:{address}?subject={quote('unsubscribe ' + token, safe='')}"


@functools.lru_cache(maxsize=16)  # one sender, parsed once rather than twice a message
def sender_address(sender: str) -> str:
    return parseaddr(sender)[1]


def _header(value: str) -> str | Header:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a header value may not hold a line break: {value!r}")
    return value if value.isascii() else Header(value, "utf-8")


def _headers(env: Envelope, public_url: str) -> tuple[tuple[str, str], ...]:
    return (
        ("From", env.sender),
        ("To", env.to),
        ("Subject", one_line(env.subject, 200)),
        ("Date", format_datetime(env.made)),
        ("Message-ID", message_id(env.digest_id, public_url)),
        ("List-Unsubscribe", f"<{env.unsubscribe_url}>, <{env.unsubscribe_mailto}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
    )


def build(env: Envelope, text: str, html: str, public_url: str) -> Message:
    msg = MIMEMultipart("alternative", policy=WIRE)
    for name, value in _headers(env, public_url):
        msg[name] = _header(value)
    msg.attach(MIMEText(text, "plain", "utf-8", policy=WIRE))
    msg.attach(MIMEText(html, "html", "utf-8", policy=WIRE))
    return msg


_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))  # as email.generator makes them
_CRLF = b"\r\n"
_PART = {sub: WIRE.fold_binary("Content-Type", f'text/{sub}; charset="utf-8"') + WIRE.fold_binary("MIME-Version", "1.0")
         + WIRE.fold_binary("Content-Transfer-Encoding", "base64") + _CRLF for sub in ("plain", "html")}


def _base64_lines(text: str) -> bytes:
    """UTF-8 in base64, 76 characters a line, each ended by CRLF (what email.base64mime gives, on the wire)."""
    data = binascii.b2a_base64(text.encode("utf-8"), newline=False)  # 57 bytes in: 76 characters out
    return b"".join([data[i:i + 76] + _CRLF for i in range(0, len(data), 76)])


def build_bytes(env: Envelope, text: str, html: str, public_url: str) -> bytes:
    """`build(...).as_bytes()`, made directly: the message as it goes on the wire (CRLF line ends)."""
    plain, rich = _base64_lines(text), _base64_lines(html)
    # the generator's boundary; it can never occur in the parts (base64 has no "-", their headers no "=")
    boundary = "=" * 15 + f"{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}" + "=="
    dash = b"--" + boundary.encode("ascii")
    head = [WIRE.fold_binary("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
            WIRE.fold_binary("MIME-Version", "1.0")]
    head += [WIRE.fold_binary(name, _header(value)) for name, value in _headers(env, public_url)]
    return b"".join((*head, _CRLF, dash, _CRLF, _PART["plain"], plain, _CRLF, dash, _CRLF, _PART["html"], rich,
                     _CRLF, dash, b"--", _CRLF))


def body(msg: Message, subtype: str) -> str:
    """The decoded text of a message's `text/<subtype>` part ('' if it has none)."""
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            data = part.get_payload(decode=True)
            return data.decode(part.get_content_charset() or "utf-8") if isinstance(data, bytes) else ""
    return ""
