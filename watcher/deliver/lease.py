"""Claims: who may send a delivery now, so two processes on one state file never both send it.

Before a sender (the daemon's outbox or mailer, or `watcher deliver --once`)
attempts a webhook delivery or an email digest, it claims it: one UPDATE, in
its own transaction, that succeeds only if the row is still to be sent, is due,
and is not claimed by anyone else with a lease still running. The claim is
`claimed_by` (this process, `OWNER`) and `claim_until` (now + the lease);
writing the outcome clears it. A live process holding a claim is never
overtaken: the lease is longer than the longest an attempt can take, because
every attempt is bounded (`webhook_lease`, `mail_lease`).

A sender that dies mid-send leaves its claim behind. On this machine that is
seen at once: a process that starts (`run`, `deliver --once`) releases the
claims of owners that are no longer running (`dead`), so a restart after a
crash sends again straight away, with the same webhook-id or Message-ID
(at-least-once, as before). A claim whose owner cannot be checked (another
machine or container, or a process frozen mid-send) is taken over when its
lease runs out.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from watcher.config import SmtpSettings, WebhookSettings
from watcher.deliver.postman import SMTP_ROUND_TRIPS

if TYPE_CHECKING:
    import sqlite3

    from watcher.store.db import Database

MARGIN = 20.0  # seconds on top of the longest attempt: the claim's write, the outcome's, a busy event loop


def webhook_attempt_limit(settings: WebhookSettings) -> float:
    """The longest one webhook attempt takes: the address lookup, then the request, each within `timeout`."""
    return 2 * settings.timeout


def webhook_lease(settings: WebhookSettings) -> float:
    """50 s with the default 15 s timeout."""
    return webhook_attempt_limit(settings) + MARGIN


def smtp_message_limit(settings: SmtpSettings) -> float:
    """The longest one message takes: `timeout` is per SMTP command, and the postman cuts a message off
    after this many."""
    return SMTP_ROUND_TRIPS * settings.timeout


def mail_lease(settings: SmtpSettings | None) -> float:
    """320 s with the default 30 s timeout (one message, plus the wait the rate limit may add before it);
    writing .eml files (no SMTP), MARGIN alone."""
    if settings is None:
        return MARGIN
    return smtp_message_limit(settings) + settings.connections / settings.rate + MARGIN


def _machine() -> str:
    """This boot of this machine, and this process namespace (a container has its own): where a pid means
    the same process. Without /proc (not Linux), the host name, and pids are not trusted."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        return "host:" + socket.gethostname().replace("/", "_")
    return f"{boot}:{ns}".replace("/", "_")


def new_owner() -> str:
    """`machine/pid/nonce`: the nonce tells this process from an earlier one that had the same pid."""
    return f"{_machine()}/{os.getpid()}/{secrets.token_hex(4)}"


OWNER = new_owner()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: running
    return True


def dead(owner: str, me: str = OWNER) -> bool:
    """Whether the process that made a claim is certainly gone: on this machine, in this process namespace,
    and either no process has its pid, or it had this process's pid (an earlier run, as PID 1 in a
    container after a restart). Anything that cannot be told is alive: its claim waits out its lease."""
    try:
        machine, pid_text, _nonce = owner.rsplit("/", 2)
        my_machine, my_pid, _ = me.rsplit("/", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if machine != my_machine or machine.startswith("host:") or owner == me:
        return False
    return pid == int(my_pid) or not _alive(pid)


async def release_dead(
    db: Database,
    claimants: Callable[[sqlite3.Connection], set[str]],
    release: Callable[[sqlite3.Connection, Iterable[str]], int],
    me: str = OWNER,
) -> tuple[int, int]:
    """At a sender's start: release the claims of senders that are certainly gone (`dead`), read with
    `claimants` and dropped with `release` (the SQL of one table: store.outbox or store.mail).
    Returns (claims released, senders)."""
    gone = [o for o in await db.run(claimants) if dead(o, me)]
    return (await db.write(release, gone) if gone else 0), len(gone)
