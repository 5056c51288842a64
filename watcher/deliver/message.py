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
"""

from __future__ import annotations

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


def unsubscribe_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/unsubscribe?token={quote(token, safe='')}"


def unsubscribe_mailto(sender: str, token: str) -> str:
    address = parseaddr(sender)[1] or "postmaster@localhost"
    return f"mailto:{address}?subject={quote('unsubscribe ' + token, safe='')}"


def sender_address(sender: str) -> str:
    return parseaddr(sender)[1]


def _header(value: str) -> str | Header:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a header value may not hold a line break: {value!r}")
    return value if value.isascii() else Header(value, "utf-8")


def build(env: Envelope, text: str, html: str, public_url: str) -> Message:
    msg = MIMEMultipart("alternative", policy=WIRE)
    for name, value in (
        ("From", env.sender),
        ("To", env.to),
        ("Subject", one_line(env.subject, 200)),
        ("Date", format_datetime(env.made)),
        ("Message-ID", message_id(env.digest_id, public_url)),
        ("List-Unsubscribe", f"<{env.unsubscribe_url}>, <{env.unsubscribe_mailto}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Auto-Submitted", "auto-generated"),
        ("X-Auto-Response-Suppress", "All"),
    ):
        msg[name] = _header(value)
    msg.attach(MIMEText(text, "plain", "utf-8", policy=WIRE))
    msg.attach(MIMEText(html, "html", "utf-8", policy=WIRE))
    return msg


def body(msg: Message, subtype: str) -> str:
    """The decoded text of a message's `text/<subtype>` part ('' if it has none)."""
    for part in msg.walk():
        if part.get_content_type() == f"text/{subtype}":
            data = part.get_payload(decode=True)
            return data.decode(part.get_content_charset() or "utf-8") if isinstance(data, bytes) else ""
    return ""
