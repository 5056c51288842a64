"""Handing messages over: to an SMTP server (aiosmtplib), or to .eml files when none is configured.

Every failure is mapped here, once, to a `MailAttempt`:
- refused for good: a 5xx answer to RCPT (the recipient: a bounce) or to DATA
  (the message) — the digest is dead;
- temporary: a 4xx, a refused or dropped connection, a timeout, a TLS or login
  failure, anything else — the digest is tried again after a wait.

`SmtpPostman` keeps one connection open across a batch (reconnecting after a
failure) and sends at most `rate` messages a second. `timeout` bounds each SMTP
command, and one message (connecting included) is cut off after
`SMTP_ROUND_TRIPS` times that, so no attempt outlasts its claim. `EmlPostman` writes
`<digest id>.eml` into a directory atomically (temp file, fsync, rename): a
re-send after a crash overwrites the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import aiosmtplib

from watcher.config import SmtpSettings

SMTP_ROUND_TRIPS = 10  # connect, EHLO, STARTTLS, EHLO, AUTH (2), MAIL, RCPT, DATA, the message


@dataclass(frozen=True)
class MailAttempt:
    ok: bool
    permanent: bool = False  # refused for good: do not try again
    bounced: bool = False  # the server refused the recipient
    code: int | None = None  # the SMTP reply code, when there was one
    error: str | None = None


class Postman(Protocol):
    async def send(self, digest_id: str, data: bytes, sender: str, recipient: str) -> MailAttempt:
        """Hand over one message, `data` as it goes on the wire (CRLF line ends)."""
        ...

    async def aclose(self) -> None: ...


def _first_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


def judge(e: BaseException) -> MailAttempt:
    """An exception from aiosmtplib (or the network under it) -> what it means for the digest."""
    if isinstance(e, aiosmtplib.SMTPRecipientsRefused) and e.recipients:
        r = e.recipients[0]
        return MailAttempt(False, permanent=r.code >= 500, bounced=r.code >= 500, code=r.code,
                           error=f"recipient refused: {r.code} {_first_line(r.message)}")
    if isinstance(e, aiosmtplib.SMTPRecipientRefused):
        return MailAttempt(False, permanent=e.code >= 500, bounced=e.code >= 500, code=e.code,
                           error=f"recipient refused: {e.code} {_first_line(e.message)}")
    if isinstance(e, aiosmtplib.SMTPDataError):
        return MailAttempt(False, permanent=e.code >= 500, code=e.code, error=f"message refused: {e.code} {_first_line(e.message)}")
    if isinstance(e, aiosmtplib.SMTPResponseException):
        return MailAttempt(False, code=e.code, error=f"{type(e).__name__}: {e.code} {_first_line(e.message)}")
    if isinstance(e, (TimeoutError, aiosmtplib.SMTPTimeoutError)):
        return MailAttempt(False, error="SMTP server timed out")
    return MailAttempt(False, error=f"{type(e).__name__}: {_first_line(str(e))}" if str(e) else type(e).__name__)


class SmtpPostman:
    def __init__(self, settings: SmtpSettings, username: str | None = None, password: str | None = None):
        self.settings = settings
        self.username, self.password = username, password
        self._client: aiosmtplib.SMTP | None = None
        self._next_at = 0.0  # monotonic: the earliest the next message may go

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.host, port=s.port, username=self.username, password=self.password, timeout=s.timeout,
            use_tls=s.security == "tls", start_tls=True if s.security == "starttls" else False,
        )

    async def _pace(self) -> None:
        now = time.monotonic()
        if self._next_at > now:
            await asyncio.sleep(self._next_at - now)
        self._next_at = max(now, self._next_at) + self.settings.connections / self.settings.rate  # rate is for all

    async def send(self, digest_id: str, data: bytes, sender: str, recipient: str) -> MailAttempt:
        await self._pace()
        try:
            async with asyncio.timeout(SMTP_ROUND_TRIPS * self.settings.timeout):  # in all (deliver/lease.py)
                if self._client is None or not self._client.is_connected:
                    self._client = self._new_client()
                    await self._client.connect()
                await self._client.sendmail(sender, [recipient], data)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            await self.aclose()  # start clean: a new connection for the next message
            return judge(e)
        return MailAttempt(True, code=250)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
                await asyncio.wait_for(client.quit(), 5.0)
            client.close()


class EmlPostman:
    """No SMTP server configured: each message becomes `<folder>/<digest id>.eml`, which counts as sent."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def send(self, digest_id: str, data: bytes, sender: str, recipient: str) -> MailAttempt:
        try:
            write_atomically(self.folder / f"{digest_id}.eml", data)
        except OSError as e:
            return MailAttempt(False, error=f"cannot write .eml: {e}")
        return MailAttempt(True)

    async def aclose(self) -> None:
        return None


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
