"""Claims: two processes on one state file never both send one delivery; a claim left by a sender that died
or froze mid-send is taken over; deliveries to webhooks and subscribers removed from the config are cancelled.

Real parts throughout: `watcher run` and `watcher deliver --once` as processes on one SQLite file, a real
webhook receiver that verifies every request (tests/hookserver.py), a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.conftest import ROOT, last_json, run_cli
from tests.hardening_helpers import DaemonProcess, clean_env, wait_for
from tests.hookserver import Hook, HookServer
from tests.mail_helpers import mail_config, seed
from tests.mailserver import MailServer, Recorder
from tests.webhook_helpers import ENV, config, hook, rows, seed_events
from watcher.deliver.lease import MARGIN
from watcher.store.migrations import MIGRATIONS


def _deliver(cfg: Path, state: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "watcher", "--config", str(cfg), "--state", str(state),
                             "deliver", "--once"], cwd=ROOT, env=clean_env(env or ENV), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _summary(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    return last_json(out)


# --- two live senders ----------------------------------------------------------------------------------


def test_daemon_and_deliver_once_send_each_webhook_exactly_once(tmp_path):
    with HookServer() as server:
        paths = [f"/claims-{i}" for i in range(4)]
        for p in paths:
            server.hooks[p] = Hook(delay=0.05)  # a receiver that takes a moment: the senders overlap
        cfg = config(tmp_path, [hook(f"desk{i}", server.url(p)) for i, p in enumerate(paths)])
        state = tmp_path / "state"
        expected = set(seed_events(cfg, state, 40))
        assert len(expected) == 160

        daemon = DaemonProcess(cfg.path, state, ENV, tmp_path / "run.log").start()
        try:
            assert wait_for(lambda: server.received, 30)  # the daemon is sending: now the operator runs deliver
            runs = [_deliver(cfg.path, state) for _ in range(2)]
            summaries = [_summary(p) for p in runs]
            assert wait_for(lambda: set(server.accepted) >= expected, 60), len(server.accepted)
            time.sleep(1.0)  # room for a second copy to arrive, if one were coming
        finally:
            daemon.stop()
        assert daemon.proc is not None and daemon.proc.returncode == 0
        assert daemon.tracebacks() == []

    ok = Counter(r.id for r in server.received if 200 <= r.status < 300)
    assert set(ok) == expected
    assert [i for i, n in ok.items() if n > 1] == []  # every delivery received exactly once, by webhook-id
    assert all(r.verified for r in server.received)
    # deliver --once met deliveries the daemon held (each endpoint's head), and waited rather than sending them
    assert any(s["pending"] > 0 for s in summaries), summaries
    assert rows(state, "SELECT status, COUNT(*), SUM(claimed_by IS NOT NULL) FROM deliveries GROUP BY status") == [
        ("sent", 160, 0)]


class SlowRecorder(Recorder):
    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


def test_daemon_and_deliver_once_send_each_digest_exactly_once(tmp_path):
    server = MailServer()
    server.handler = SlowRecorder()
    server.controller.handler = server.handler
    with server:
        subs = [{"email": f"reader{i:02d}@example.org", "schedule": "immediate"} for i in range(60)]
        cfg = mail_config(tmp_path, subs, smtp=server.settings())
        state = tmp_path / "state"
        seed(cfg, state, [{"id": "s-claims-1", "title": "Judge blocks funding cuts to Denver"}])

        daemon = DaemonProcess(cfg.path, state, {}, tmp_path / "run.log").start()
        try:
            assert wait_for(lambda: server.handler.received, 30)  # the daemon is sending
            runs = [_deliver(cfg.path, state, {}) for _ in range(2)]
            summaries = [_summary(p) for p in runs]
            assert wait_for(lambda: len({r.rcpt_tos[0] for r in server.handler.received}) >= 60, 60)
            time.sleep(1.0)
        finally:
            daemon.stop()
        assert daemon.tracebacks() == []

    ids = Counter(str(r.message["Message-ID"]) for r in server.handler.received)
    assert len(ids) == 60
    assert [m for m, n in ids.items() if n > 1] == []  # every digest received exactly once, by Message-ID
    assert Counter(r.rcpt_tos[0] for r in server.handler.received) == Counter(s["email"] for s in subs)
    by_once = sum(s["emails_sent"] for s in summaries)
    assert 0 < by_once < 60, summaries  # both sent some: the digests were shared out, none taken twice
    assert rows(state, "SELECT status, COUNT(*), SUM(claimed_by IS NOT NULL) FROM digests GROUP BY status") == [
        ("sent", 60, 0)]


# --- a sender that dies or freezes mid-send ------------------------------------------------------------


def _hanging_daemon(tmp_path: Path, server: HookServer, timeout: str):
    server.hooks["/slow"] = Hook(mode="hang")
    cfg = config(tmp_path, [hook("desk", server.url("/slow"))], webhooks={"timeout": timeout})
    state = tmp_path / "state"
    [delivery] = seed_events(cfg, state, 1)
    daemon = DaemonProcess(cfg.path, state, ENV, tmp_path / "run.log").start()
    assert wait_for(lambda: server.at("/slow"), 30), "the daemon never sent"
    return cfg, state, delivery, daemon


def test_claim_of_a_killed_sender_is_released_and_sent_once_by_the_next(tmp_path):
    with HookServer() as server:
        cfg, state, delivery, daemon = _hanging_daemon(tmp_path, server, "30s")
        assert daemon.kill()  # SIGKILL while the receiver holds the request
        [(claimed_by, claim_until)] = rows(state, "SELECT claimed_by, claim_until FROM deliveries")
        assert claimed_by is not None and claim_until > time.time() + 60  # the lease it left: 2 x 30 s + margin
        server.hooks["/slow"] = Hook()  # the receiver recovers
        summary = last_json(run_cli("--config", str(cfg.path), "--state", str(state), "deliver", "--once", env=ENV).stdout)
    # the owner is gone (same machine, no such process): its claim is released at once, not after 80 s
    assert summary["webhooks_sent"] == 1 and summary["pending"] == 0, summary
    attempts = [r for r in server.received if r.id == delivery]
    assert len(attempts) == 2 and attempts[0].body == attempts[1].body  # the cut-off POST, made again: same id
    assert rows(state, "SELECT status, claimed_by FROM deliveries") == [("sent", None)]


def test_claim_of_a_frozen_sender_is_taken_over_when_its_lease_runs_out(tmp_path):
    with HookServer() as server:
        cfg, state, delivery, daemon = _hanging_daemon(tmp_path, server, "1s")
        assert daemon.proc is not None
        daemon.proc.send_signal(signal.SIGSTOP)  # alive, but frozen mid-send: its claim must be respected...
        try:
            [(claim_until,)] = rows(state, "SELECT claim_until FROM deliveries")
            server.hooks["/slow"] = Hook()
            args = ("--config", str(cfg.path), "--state", str(state), "deliver", "--once")
            early = last_json(run_cli(*args, env=ENV).stdout)
            assert early["webhooks_sent"] == 0 and early["pending"] == 1, early
            assert len(server.at("/slow")) == 1
            lease = claim_until - time.time()
            assert 0 < lease <= 2 * 1 + MARGIN
            time.sleep(lease + 0.2)  # ...until its lease runs out
            late = last_json(run_cli(*args, env=ENV).stdout)
        finally:
            daemon.kill()
    assert late["webhooks_sent"] == 1 and late["pending"] == 0, late
    assert [r.id for r in server.received] == [delivery, delivery]
    assert rows(state, "SELECT status, attempts, claimed_by FROM deliveries") == [("sent", 1, None)]


# --- recipients removed from the config ----------------------------------------------------------------


def test_deliveries_to_a_removed_webhook_are_cancelled_not_sent_and_never_resurrected(tmp_path):
    with HookServer() as server:
        server.hooks["/keep"] = Hook()
        server.hooks["/gone"] = Hook(statuses=[500])
        both = [hook("keep", server.url("/keep")), hook("gone", server.url("/gone"))]
        cfg = config(tmp_path, both)
        state = tmp_path / "state"
        seed_events(cfg, state, 2)
        args = ("--config", str(cfg.path), "--state", str(state))
        first = last_json(run_cli(*args, "deliver", "--once", env=ENV).stdout)
        assert first["webhooks_sent"] == 2 and first["pending"] == 2  # gone's two: one failed, one held behind it

        only = config(tmp_path, [both[0]])  # the operator removes "gone" from sources.yaml
        seed_events(only, state, 1, start=2)
        summary = last_json(run_cli(*args, "deliver", "--once", env=ENV).stdout)
        assert summary == {"emails_sent": 0, "webhooks_sent": 1, "failed": 0, "pending": 0, "dead": 0}
        listing = run_cli(*args, "deliveries", "list", "--status", "cancelled").stdout
        assert listing.count("webhook removed from the config") == 2 and listing.count(" gone ") == 2, listing
        assert "0 pending, 0 failed, 3 sent, 0 dead, 2 cancelled" in run_cli(*args, "deliveries", "list").stdout

        retried = run_cli(*args, "deliveries", "retry", "--all").stdout
        assert retried.startswith("0 deliveries due now"), retried
        one = rows(state, "SELECT id FROM deliveries WHERE status = 'cancelled' LIMIT 1")[0][0]
        assert "cancelled (webhook removed from the config); not retried" in run_cli(
            *args, "deliveries", "retry", one).stdout
        config(tmp_path, both)  # and puts it back: what was cancelled stays cancelled
        server.hooks["/gone"] = Hook()
        again = last_json(run_cli(*args, "deliver", "--once", env=ENV).stdout)
        assert again["webhooks_sent"] == 0 and again["pending"] == 0, again
    assert len(server.at("/gone")) == 1  # the one failed attempt before the removal; nothing after
    assert rows(state, "SELECT target, status, COUNT(*) FROM deliveries GROUP BY target, status ORDER BY target") == [
        ("gone", "cancelled", 2), ("keep", "sent", 3)]


def test_deliveries_to_a_removed_subscriber_are_cancelled(tmp_path):
    with MailServer() as server:
        subs = [{"email": "stays@example.org", "schedule": "immediate"},
                {"email": "leaves@example.org", "schedule": "immediate"},
                {"email": "later@example.org", "schedule": "weekly mon 07:00"}]
        server.handler.busy.add("leaves@example.org")  # its digest is built, and waits on a retry
        cfg = mail_config(tmp_path, subs, smtp=server.settings(retry=["1h"]))
        state = tmp_path / "state"
        seed(cfg, state, [{"id": "s-claims-2", "title": "County ends jail cooperation with ICE"}])
        args = ("--config", str(cfg.path), "--state", str(state))
        first = last_json(run_cli(*args, "deliver", "--once").stdout)
        assert first["emails_sent"] == 1 and first["failed"] == 1, first

        mail_config(tmp_path, subs[:1], smtp=server.settings(retry=["1h"]))  # two subscribers removed
        server.handler.busy.clear()
        run_cli(*args, "deliveries", "retry", "--all")  # even made due by hand, it is not sent
        summary = last_json(run_cli(*args, "deliver", "--once").stdout)
        assert summary["emails_sent"] == 0 and summary["pending"] == 0, summary
    assert [r.rcpt_tos for r in server.handler.received] == [["stays@example.org"]]
    assert rows(state, "SELECT target, status, last_error FROM deliveries ORDER BY target") == [
        ("later@example.org", "cancelled", "subscriber removed from the config"),
        ("leaves@example.org", "cancelled", "subscriber removed from the config"),
        ("stays@example.org", "sent", None)]
    assert rows(state, "SELECT subscriber, status FROM digests ORDER BY subscriber") == [
        ("leaves@example.org", "cancelled"), ("stays@example.org", "sent")]


# --- the migration on an existing state file -----------------------------------------------------------


def test_migration_adds_claims_to_an_existing_state_file(tmp_path):
    with HookServer() as server:
        server.hooks["/old"] = Hook()
        cfg = config(tmp_path, [hook("old", server.url("/old"))])
        state = tmp_path / "state"
        [delivery] = seed_events(cfg, state, 1)
        conn = sqlite3.connect(state / "watcher.sqlite3", isolation_level=None)
        for table in ("deliveries", "digests"):  # back to the schema of a state file from before claims
            for column in ("claimed_by", "claim_until"):
                conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        conn.execute("DELETE FROM migrations WHERE name = '0006_claims'")
        conn.close()
        assert [r[0] for r in rows(state, "SELECT name FROM migrations ORDER BY id")] == [n for n, _ in MIGRATIONS[:5]]
        summary = last_json(run_cli("--config", str(cfg.path), "--state", str(state), "deliver", "--once", env=ENV).stdout)
    assert summary["webhooks_sent"] == 1
    assert [r.id for r in server.received] == [delivery]
    assert [r[0] for r in rows(state, "SELECT name FROM migrations ORDER BY id")][-1] == "0006_claims"
