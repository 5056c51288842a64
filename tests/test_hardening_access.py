"""Issue 8, part 4: access.

- Unsubscribe tokens against the real web face and a real state file: forged (another key), altered (one
  character), spliced (one address with another's signature), malformed; and replayed after use. Only a
  token the server made unsubscribes, only its own address, a replay is harmless, and no answer says
  more than "not valid".
- Webhooks after DNS rebinding: the name answers a public address, then a private or metadata one. The
  request goes to the address that was checked (never a second lookup), and once the name rebinds, it is
  refused before any request is made.
- What the public pages show after crashes and with hostile input is checked in test_hardening_crash.py
  (public_leaks) and test_hardening_hostile.py; tests/test_web.py checks a running daemon's pages.
"""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest

from tests.mail_helpers import mail_config
from tests.webhook_helpers import config, hook
from tests.webhook_helpers import rows
from watcher import web
from watcher.deliver import tokens
from watcher.deliver.render import Renderer
from watcher.deliver.sender import RESOLVE_TTL, WebhookChannel, WebhookSender
from watcher.deliver.unsubscribe import UnsubscribeDesk

A, B = "reader.a@example.org", "reader.b@example.org"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _unsubscribe_scenario(cfg, state) -> dict[str, object]:
    from watcher.app import open_mailer
    from watcher.store.db import Database

    out: dict[str, object] = {}
    async with Database(state) as db, open_mailer(cfg, db, state) as mailer:
        await mailer.prepare()
        key = mailer.key
        app = web.build_app(UnsubscribeDesk(db, key), Renderer(None))
        async with web.serve(app, "127.0.0.1:0") as (host, port):
            async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as client:
                good_a, good_b = tokens.make(key, A), tokens.make(key, B)
                head_a, sig_a = good_a.split(".")
                head_b, _ = good_b.split(".")
                flipped = sig_a[:-2] + ("A" if sig_a[-2] != "A" else "B") + sig_a[-1]
                bad = {
                    "forged (another key)": tokens.make(b"k" * 32, A),
                    "altered signature": f"{head_a}.{flipped}",
                    "spliced: B's address, A's signature": f"{head_b}.{sig_a}",
                    "address in capitals": f"{_b64(A.upper().encode())}.{sig_a}",
                    "empty": "",
                    "no dot": head_a + sig_a,
                    "two dots": f"{head_a}.{sig_a}.x",
                    "not base64": "!!!.???",
                    "too long": "a" * 700 + "." + "b" * 700,
                    "NUL": f"{head_a}\x00.{sig_a}",
                    "unicode": f"{_b64('rëader@example.org'.encode())}.{sig_a}",
                }
                answers = {}
                for name, token in bad.items():
                    got = await client.post("/unsubscribe", params={"token": token})
                    shown = await client.get("/unsubscribe", params={"token": token})
                    answers[name] = (got.status_code, got.text, shown.status_code, shown.text)
                out["bad"] = answers
                out["subscribed_after_bad"] = rows(state, "SELECT email FROM subscribers WHERE unsubscribed_at IS NULL ORDER BY email")
                confirm = await client.get("/unsubscribe", params={"token": good_a})  # a mail scanner following the link
                out["confirm"] = (confirm.status_code, confirm.text)
                out["subscribed_after_get"] = rows(state, "SELECT email FROM subscribers WHERE unsubscribed_at IS NULL ORDER BY email")
                first = await client.post("/unsubscribe", params={"token": good_a})
                out["first"] = (first.status_code, first.text)
                out["after_first"] = rows(state, "SELECT email, unsubscribed_at FROM subscribers ORDER BY email")
                replays = [await client.post("/unsubscribe", params={"token": good_a}) for _ in range(3)]
                form = await client.post("/unsubscribe", data={"List-Unsubscribe": "One-Click", "token": good_a})
                out["replays"] = [(r.status_code, r.text) for r in [*replays, form]]
                out["after_replays"] = rows(state, "SELECT email, unsubscribed_at FROM subscribers ORDER BY email")
    return out


def test_forged_altered_and_replayed_unsubscribe_tokens(tmp_path):
    cfg = mail_config(tmp_path, [{"email": A, "schedule": "immediate"}, {"email": B, "schedule": "immediate"}])
    state = tmp_path / "st"
    out = asyncio.run(_unsubscribe_scenario(cfg, state))
    for name, (post, post_text, get, get_text) in out["bad"].items():  # type: ignore[union-attr]
        assert post == 400 and get == 400, name
        for text in (post_text, get_text):
            assert "not valid" in text and A not in text and B not in text, name
            assert "Traceback" not in text and "Error" not in text, name
    assert out["subscribed_after_bad"] == [(A,), (B,)]
    status, text = out["confirm"]  # type: ignore[misc]
    assert status == 200 and A in text and B not in text
    assert out["subscribed_after_get"] == [(A,), (B,)]  # GET changes nothing
    assert out["first"][0] == 200  # type: ignore[index]
    [(a, when), (b, none)] = out["after_first"]  # type: ignore[misc]
    assert (a, b, none) == (A, B, None) and when is not None  # A only
    for status, text in out["replays"]:  # type: ignore[union-attr]
        assert status == 200 and A in text and B not in text and "Traceback" not in text
    assert out["after_replays"] == out["after_first"]  # idempotent: the first time is kept


PUBLIC_IP = "93.184.216.34"


@pytest.mark.parametrize("rebound", [["127.0.0.1"], ["169.254.169.254"], ["10.0.0.7"], ["::1"],
                                     ["::ffff:169.254.169.254"], ["fd00:ec2::254"], [PUBLIC_IP, "192.168.1.1"]])
def test_dns_rebinding_never_reaches_a_private_address(tmp_path, rebound):
    cfg = config(tmp_path, [{"name": "news", "url": "http://hooks.example.test/in", "secret_env": "HOOK_SECRET"}])
    answers = [[PUBLIC_IP], rebound]
    lookups: list[str] = []
    sent: list[httpx.Request] = []
    now = [1000.0]

    async def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return answers[min(len(lookups) - 1, len(answers) - 1)]

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(b"ok"))

    async def go() -> list:
        results = []
        async with WebhookSender(cfg.settings.webhooks, "t", transport=httpx.MockTransport(handler), resolve=resolve,
                                 clock=lambda: now[0]) as sender:
            channel = WebhookChannel(cfg.webhooks, cfg.secrets, sender)
            results.append(await channel.post(cfg.webhooks[0], "msg_1", b"{}"))  # public: sent, to that address
            results.append(await channel.post(cfg.webhooks[0], "msg_2", b"{}"))  # cached: no new lookup
            now[0] += RESOLVE_TTL + 1
            results.append(await channel.post(cfg.webhooks[0], "msg_3", b"{}"))  # the name now rebinds
            results.append(await channel.post(cfg.webhooks[0], "msg_4", b"{}"))
        return results

    first, second, third, fourth = asyncio.run(go())
    assert first.ok and second.ok
    assert [r.url.host for r in sent] == [PUBLIC_IP, PUBLIC_IP]  # an address, never the name: no second lookup
    assert all(r.headers["host"] == "hooks.example.test" for r in sent)
    assert not third.ok and not third.sent and third.error.startswith("refused:")
    assert not fourth.ok and not fourth.sent
    assert len(sent) == 2 and lookups == ["hooks.example.test", "hooks.example.test"]


def test_a_rebinding_name_is_refused_through_the_outbox(tmp_path):
    """The same, through `deliver_once`: the delivery fails as refused and nothing is sent."""
    from watcher.app import retry_policy
    from watcher.deliver.outbox import Outbox
    from watcher.store.db import Database
    from tests.webhook_helpers import seed_events

    cfg = config(tmp_path, [hook("news", "http://rebind.example.test/in") | {"allow_private": False}])
    state = tmp_path / "st"
    seed_events(cfg, state, 1)
    sent: list[httpx.Request] = []

    async def resolve(host: str, port: int) -> list[str]:
        return ["169.254.169.254"]

    async def go() -> None:
        async with Database(state) as db:
            async with WebhookSender(cfg.settings.webhooks, "t", resolve=resolve,
                                     transport=httpx.MockTransport(lambda r: sent.append(r) or httpx.Response(200, stream=httpx.ByteStream(b"")))) as s:
                outbox = Outbox(db, [WebhookChannel(cfg.webhooks, cfg.secrets, s)], retry_policy(cfg),
                                endpoints=[("news", "http://rebind.example.test/in")])
                await outbox.drain_due()

    asyncio.run(go())
    assert sent == []
    [(status, error)] = rows(state, "SELECT status, last_error FROM deliveries")
    assert status == "failed" and "cloud metadata" in error
