"""Unsubscribing through the real web face, and the daemon mailing as soon as a poll commits."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import httpx

from tests.conftest import ROOT
from tests.feedserver import Route, rss
from tests.mail_helpers import mail_config, seed
from tests.mailserver import MailServer, free_port
from tests.test_story_pipeline import DOJ, FILLER
from tests.webhook_helpers import rows
from watcher import web
from watcher.deliver.render import Renderer
from watcher.deliver.unsubscribe import UnsubscribeDesk
from watcher.store import mail as sql
from watcher.store.db import Database

KEY = b"s" * 32


async def _with_server(state, fn):
    async with Database(state) as db:
        app = web.build_app(UnsubscribeDesk(db, KEY), Renderer())
        async with web.serve(app, "127.0.0.1:0") as (host, port):
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", follow_redirects=False) as client:
                return await fn(client, db)


def test_get_confirms_post_unsubscribes_forgery_does_nothing(tmp_path):
    from watcher.deliver import tokens

    token = tokens.make(KEY, "Reader@Example.org")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    async def go(client: httpx.AsyncClient, db: Database) -> None:
        await db.write(sql.sync_subscribers, ["reader@example.org"], time.time())
        r = await client.get("/unsubscribe", params={"token": token})
        assert r.status_code == 200 and 'method="post"' in r.text and "reader@example.org" in r.text
        assert (await db.run(sql.get_subscription, "reader@example.org")).unsubscribed_at is None  # GET changes nothing
        r = await client.post("/unsubscribe", params={"token": forged}, content=b"List-Unsubscribe=One-Click",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 400
        assert (await db.run(sql.get_subscription, "reader@example.org")).unsubscribed_at is None
        r = await client.get("/unsubscribe", params={"token": forged})
        assert r.status_code == 400
        # RFC 8058 one-click: a POST of List-Unsubscribe=One-Click to the List-Unsubscribe URL
        r = await client.post("/unsubscribe", params={"token": token}, content=b"List-Unsubscribe=One-Click",
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200 and "Location" not in r.headers and "Set-Cookie" not in r.headers
        assert "reader@example.org" in r.text
        assert (await db.run(sql.get_subscription, "reader@example.org")).unsubscribed_at is not None
        r = await client.get("/unsubscribe", params={"token": "<script>alert(1)</script>"})
        assert r.status_code == 400 and "<script>" not in r.text
        r = await client.get("/healthz")
        assert r.json() == {"status": "ok"}

    asyncio.run(_with_server(tmp_path / "st", go))


def test_an_unsubscribed_address_gets_nothing_more(tmp_path):
    cfg = mail_config(tmp_path, [{"email": "a@example.org", "schedule": "daily 07:00"}])
    state = tmp_path / "st"
    seed(cfg, state, [{"id": "s-1", "title": "One"}])
    with Database(state) as db:
        from watcher.store.db import transaction

        with transaction(db.conn) as conn:
            assert sql.unsubscribe(conn, "a@example.org", time.time())
    assert rows(state, "SELECT status, last_error FROM deliveries") == [("dead", "unsubscribed")]
    seed(cfg, state, [{"id": "s-2", "title": "Two"}])
    assert rows(state, "SELECT COUNT(*) FROM deliveries") == [(1,)]


def test_the_daemon_mails_after_a_poll_and_serves_unsubscribe(feed_server, tmp_path):
    feed_server.routes["/doj.xml"] = Route(rss(FILLER))
    port = free_port()
    with MailServer() as smtp:
        cfg = mail_config(tmp_path, [{"email": "desk@example.org", "schedule": "immediate"}],
                          [{"name": "doj-press", "kind": "feed", "url": feed_server.url("/doj.xml"), "every": "1s"}],
                          smtp=smtp.settings(), listen=f"127.0.0.1:{port}")
        state = tmp_path / "st"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")}
        cmd = [sys.executable, "-m", "watcher", "--config", cfg.path, "--state", str(state), "run"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            end = time.monotonic() + 20
            while feed_server.hits.get("/doj.xml", 0) < 1 and time.monotonic() < end:
                time.sleep(0.05)
            time.sleep(0.5)
            feed_server.routes["/doj.xml"] = Route(rss(FILLER + [DOJ]))
            changed = time.monotonic()
            while not smtp.handler.received and time.monotonic() < changed + 12:
                time.sleep(0.05)
            [got] = smtp.handler.received
            assert time.monotonic() - changed < 5.0  # woken by the poll's commit, not by a minute tick
            assert DOJ["title"] in got.message.get_body(("plain",)).get_content()
            link = re.search(r"<https://watch\.example\.org(/unsubscribe\?token=[^>]+)>", got.message["List-Unsubscribe"])
            assert link is not None
            local = f"http://127.0.0.1:{port}{link.group(1)}"
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            assert httpx.get(local).status_code == 200
            r = httpx.post(local, content=b"List-Unsubscribe=One-Click",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert r.status_code == 200
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=15)
            assert proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
    assert rows(state, "SELECT unsubscribed_at IS NOT NULL FROM subscribers") == [(1,)]
