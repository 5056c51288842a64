"""Unsubscribing by token: who a token names, and doing it. The web face calls this."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from watcher.deliver import tokens
from watcher.store import mail as sql
from watcher.store.db import Database

log = logging.getLogger("watcher.mail")


class UnsubscribeDesk:
    def __init__(self, db: Database, key: bytes, *, clock: Callable[[], float] = time.time):
        self.db = db
        self.key = key
        self.clock = clock

    def who(self, token: str) -> str | None:
        """The address a token unsubscribes, or None for a forged or altered one. Changes nothing."""
        return tokens.verify(self.key, token)

    async def unsubscribe(self, token: str) -> str | None:
        """Unsubscribe the token's address; None (and nothing done) for a forged or altered token."""
        email = self.who(token)
        if email is None:
            return None
        if await self.db.write(sql.unsubscribe, email, self.clock()):
            log.info("unsubscribed", extra={"to": email})
        return email
