"""Unsubscribe tokens: the subscriber's address, signed. Pure: the key is passed in.

A token is `<base64url address>.<base64url HMAC-SHA256(key, "unsubscribe:" + address)>`,
the address lower-cased. It names who it unsubscribes and cannot be made or
altered without the server's key (kept in the database, made once at first
start); it never expires, so a link in an old digest still works.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

PURPOSE = b"unsubscribe:"
MAX_TOKEN = 600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, email: str) -> bytes:
    return hmac.new(key, PURPOSE + email.encode("utf-8"), hashlib.sha256).digest()


def make(key: bytes, email: str) -> str:
    email = email.strip().lower()
    return f"{_b64(email.encode('utf-8'))}.{_b64(_mac(key, email))}"


def verify(key: bytes, token: str) -> str | None:
    """The address a token unsubscribes, or None if it is not one this key made."""
    if not token or len(token) > MAX_TOKEN or token.count(".") != 1:
        return None
    head, sig = token.split(".")
    try:
        email = _unb64(head).decode("utf-8")
        mac = _unb64(sig)
    except (binascii.Error, ValueError):
        return None
    if email != email.strip().lower() or not hmac.compare_digest(mac, _mac(key, email)):
        return None
    return email
