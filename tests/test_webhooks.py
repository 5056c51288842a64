"""Webhooks end to end, against real receivers on localhost that verify with the `standardwebhooks` package."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.conftest import ROOT, last_json, run_cli
from tests.feedserver import Route, now_rfc822, rss
from tests.hookserver import SECRET, Hook, HookServer
from tests.test_story_pipeline import DOJ, FILLER, NEWS
from tests.webhook_helpers import ENV, config, hook, rows, run_outbox, seed_events
from watcher.app import deliver_once, poll_once

CHICAGO = {"title": "Justice Department threatens to cut grants to Chicago over sanctuary city ordinance",
           "link": "https://www.justice.gov/opa/pr/chicago-grants", "guid": "doj-2", "pubDate": now_rfc822(-1),
           "description": "The Attorney General warned Chicago that it will withhold Byrne JAG funds unless the city "
                          "ends its sanctuary policies limiting cooperation with ICE."}


@pytest.fixture
def receiver():
    with HookServer() as server:
        yield server


def test_two_stories_then_a_new_source(feed_server, receiver, tmp_path):
    feed_server.routes["/doj.xml"] = Route(rss(FILLER))
    feed_server.routes["/news.xml"] = Route(rss(FILLER))
    receiver.hooks["/all"] = Hook()
    receiver.hooks["/suits"] = Hook()
    sources = [{"name": "doj-press", "kind": "feed", "publisher": "doj", "url": feed_server.url("/doj.xml")},
               {"name": "news", "kind": "feed", "url": feed_server.url("/news.xml")}]
    cfg = config(tmp_path, [hook("desk", receiver.url("/all")),
                            hook("courts", receiver.url("/suits"), filter={"kinds": ["lawsuit"], "jurisdictions": ["Colorado"]})],
                 sources)
    state = tmp_path / "st"
    asyncio.run(poll_once(cfg, state))  # the silent baseline
    feed_server.routes["/doj.xml"] = Route(rss(FILLER + [DOJ, CHICAGO]))
    assert asyncio.run(poll_once(cfg, state)).counts["stories_new"] == 2
    assert asyncio.run(deliver_once(cfg, state)).as_dict() == {
        "emails_sent": 0, "webhooks_sent": 3, "failed": 0, "pending": 0, "dead": 0}

    got = receiver.at("/all")
    assert len(got) == 2 and all(r.verified for r in got)
    assert {r.event["type"] for r in got} == {"story.created"}
    assert {r.event["data"]["title"] for r in got} == {DOJ["title"], CHICAGO["title"]}
    suits = receiver.at("/suits")
    assert [r.event["data"]["kind"] for r in suits] == ["lawsuit"]  # the filter took only the Denver suit

    feed_server.routes["/news.xml"] = Route(rss(FILLER + [NEWS]))
    assert asyncio.run(poll_once(cfg, state)).counts["stories_updated"] == 1
    asyncio.run(deliver_once(cfg, state))
    got = receiver.at("/all")
    assert len(got) == 3 and got[2].verified
    update = got[2].event
    assert update["type"] == "story.updated"
    denver = next(r for r in got[:2] if r.event["data"]["title"] == DOJ["title"])
    assert update["data"]["id"] == denver.event["data"]["id"]
    assert {i["url"] for i in update["data"]["items"]} == {DOJ["link"], NEWS["link"]}
    assert len({r.id for r in got}) == 3


def test_the_payload_follows_the_documented_schema(feed_server, receiver, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((ROOT / "docs" / "story.schema.json").read_text())
    feed_server.routes["/doj.xml"] = Route(rss(FILLER))
    receiver.hooks["/a"] = Hook()
    cfg = config(tmp_path, [hook("desk", receiver.url("/a"))],
                 [{"name": "doj-press", "kind": "feed", "url": feed_server.url("/doj.xml")}])
    state = tmp_path / "st"
    asyncio.run(poll_once(cfg, state))
    feed_server.routes["/doj.xml"] = Route(rss(FILLER + [DOJ]))
    asyncio.run(poll_once(cfg, state))
    asyncio.run(deliver_once(cfg, state))
    [r] = receiver.at("/a")
    jsonschema.validate(r.event, schema)
    assert r.headers["content-type"] == "application/json"


def test_500_500_200_is_three_tries_with_one_id(receiver, tmp_path):
    receiver.hooks["/flaky"] = Hook(statuses=[500, 500, 200])
    cfg = config(tmp_path, [hook("flaky", receiver.url("/flaky"))])
    state = tmp_path / "st"
    [delivery] = seed_events(cfg, state, 1)
    took = asyncio.run(run_outbox(cfg, state, lambda: bool(receiver.accepted), timeout=10))
    got = receiver.at("/flaky")
    assert [r.status for r in got] == [500, 500, 200]
    assert {r.id for r in got} == {delivery} and all(r.verified for r in got)
    assert len({r.body for r in got}) == 1  # the same bytes every time; only webhook-timestamp may move
    assert len(receiver.accepted) == 1
    assert took >= 0.5  # two backoff waits of 0.3 s
    assert rows(state, "SELECT status, attempts, last_status FROM deliveries") == [("sent", 3, 200)]
    assert rows(state, "SELECT consecutive_failures, last_success_at IS NOT NULL FROM endpoints") == [(0, 1)]


def test_410_disables_the_endpoint(receiver, tmp_path):
    receiver.hooks["/gone"] = Hook(statuses=[410])
    receiver.hooks["/ok"] = Hook()
    cfg = config(tmp_path, [hook("gone", receiver.url("/gone")), hook("ok", receiver.url("/ok"))])
    state = tmp_path / "st"
    seed_events(cfg, state, 1)
    asyncio.run(deliver_once(cfg, state))
    seed_events(cfg, state, 2, start=1)
    summary = asyncio.run(deliver_once(cfg, state)).as_dict()
    assert len(receiver.at("/gone")) == 1  # and nothing more
    assert len(receiver.at("/ok")) == 3
    assert summary["webhooks_sent"] == 2 and summary["pending"] == 2 and summary["dead"] == 1
    [(enabled, reason)] = rows(state, "SELECT enabled, disabled_reason FROM endpoints WHERE name = 'gone'")
    assert enabled == 0 and reason.startswith("410 Gone")

    # the operator enables it again: the two events that waited are delivered, in order
    receiver.hooks["/gone"] = Hook(statuses=[200])
    receiver.received = [r for r in receiver.received if r.path != "/gone"]
    env = {**ENV}
    assert run_cli("--config", cfg.path, "--state", str(state), "webhooks", "enable", "gone", env=env).returncode == 0
    asyncio.run(deliver_once(cfg, state))
    assert [r.event["data"]["id"] for r in receiver.at("/gone")] == ["s-0001", "s-0002"]


def test_a_hanging_endpoint_delays_no_other(receiver, tmp_path):
    receiver.hooks["/hang"] = Hook(mode="hang")
    receiver.hooks["/ok"] = Hook()
    cfg = config(tmp_path, [hook("hang", receiver.url("/hang")), hook("ok", receiver.url("/ok"))],
                 webhooks={"timeout": "15s"})
    state = tmp_path / "st"
    seed_events(cfg, state, 5)
    took = asyncio.run(run_outbox(cfg, state, lambda: len(receiver.at("/ok")) == 5, timeout=10))
    assert len(receiver.at("/ok")) == 5
    assert took < 2.0, f"the healthy endpoint waited {took:.2f}s behind the hanging one"
    assert len(receiver.at("/hang")) == 1  # its head is still in flight: later events wait behind it, in order


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook",
                                 "http://[::ffff:127.0.0.1]:9/hook", "http://localhost:9/hook"])
def test_private_addresses_are_refused_without_a_request(tmp_path, url):
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200)

    cfg = config(tmp_path, [{"name": "meta", "url": url, "secret_env": "HOOK_SECRET"}])  # no allow_private
    state = tmp_path / "st"
    seed_events(cfg, state, 1)
    summary = asyncio.run(deliver_once(cfg, state, transport=httpx.MockTransport(handler)))
    assert requests == []
    assert summary.as_dict()["failed"] == 1 and summary.as_dict()["webhooks_sent"] == 0
    [(status, error)] = rows(state, "SELECT status, last_error FROM deliveries")
    assert status == "failed" and error.startswith("refused:")


def test_the_checked_address_is_the_one_connected_to(receiver, tmp_path):
    """A name is resolved once, checked, and the request pinned to that address (Host kept)."""
    from watcher.deliver.sender import WebhookSender

    receiver.hooks["/pin"] = Hook()
    cfg = config(tmp_path, [hook("pin", f"http://hooks.example.test:{receiver.port}/pin")])
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    async def go() -> None:
        from watcher.deliver.sender import WebhookChannel

        async with WebhookSender(cfg.settings.webhooks, "test", resolve=resolve) as sender:
            channel = WebhookChannel(cfg.webhooks, cfg.secrets, sender)
            attempt = await channel.post(cfg.webhooks[0], "msg_pin", b'{"type":"webhook.test"}')
            assert attempt.ok, attempt.error

    asyncio.run(go())
    [r] = receiver.at("/pin")
    assert r.headers["host"] == f"hooks.example.test:{receiver.port}" and r.verified
    assert lookups == ["hooks.example.test"]


def test_redirects_are_failures_not_followed(receiver, tmp_path):
    receiver.hooks["/moved"] = Hook(statuses=[301], headers={"Location": "/elsewhere"})
    receiver.hooks["/elsewhere"] = Hook()
    cfg = config(tmp_path, [hook("moved", receiver.url("/moved"))])
    state = tmp_path / "st"
    seed_events(cfg, state, 1)
    asyncio.run(deliver_once(cfg, state))
    assert receiver.at("/elsewhere") == []
    [(status, error)] = rows(state, "SELECT status, last_error FROM deliveries")
    assert status == "failed" and "not followed" in error


def test_503_retry_after_is_honoured(receiver, tmp_path):
    receiver.hooks["/busy"] = Hook(statuses=[503], headers={"Retry-After": "120"})
    cfg = config(tmp_path, [hook("busy", receiver.url("/busy"))])
    state = tmp_path / "st"
    seed_events(cfg, state, 1)
    t = time.time()
    asyncio.run(deliver_once(cfg, state))
    [(next_at,)] = rows(state, "SELECT next_attempt_at FROM deliveries")
    assert next_at - t >= 119  # not the 0.3 s of the schedule


def test_dead_deliveries_are_listed_and_retried(receiver, tmp_path):
    receiver.hooks["/down"] = Hook(statuses=[500])
    cfg = config(tmp_path, [hook("down", receiver.url("/down"))], webhooks={"retry": []})  # one attempt, then dead
    state = tmp_path / "st"
    [delivery] = seed_events(cfg, state, 1)
    asyncio.run(deliver_once(cfg, state))
    args = ("--config", cfg.path, "--state", str(state))
    listing = run_cli(*args, "deliveries", "list", "--status", "dead", env=ENV)
    assert listing.returncode == 0 and delivery in listing.stdout and "HTTP 500" in listing.stdout
    receiver.hooks["/down"] = Hook(statuses=[200])
    assert run_cli(*args, "deliveries", "retry", delivery, env=ENV).returncode == 0
    out = run_cli(*args, "deliver", "--once", env=ENV)
    assert out.returncode == 0, out.stderr
    assert last_json(out.stdout)["webhooks_sent"] == 1
    assert receiver.at("/down")[-1].id == delivery  # the same webhook-id as the first attempt
    assert run_cli(*args, "deliveries", "retry", "msg_nope", env=ENV).returncode == 2


def test_webhooks_test_sends_a_signed_event(receiver, tmp_path):
    receiver.hooks["/t"] = Hook()
    cfg = config(tmp_path, [hook("desk", receiver.url("/t"))])
    out = run_cli("--config", cfg.path, "--state", str(tmp_path / "st"), "webhooks", "test", "desk", env=ENV)
    assert out.returncode == 0, out.stderr
    assert "HTTP 200" in out.stdout
    [r] = receiver.at("/t")
    assert r.verified and r.event["type"] == "webhook.test"


def test_kill_9_mid_delivery_loses_nothing(receiver, tmp_path):
    receiver.hooks["/slow"] = Hook(delay=0.1)
    cfg = config(tmp_path, [hook("slow", receiver.url("/slow"))])
    state = tmp_path / "st"
    sent = seed_events(cfg, state, 20)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")} | ENV
    cmd = [sys.executable, "-m", "watcher", "--config", cfg.path, "--state", str(state), "run"]

    def start() -> subprocess.Popen:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    proc = start()
    try:
        end = time.monotonic() + 15
        while len(receiver.at("/slow")) < 6 and time.monotonic() < end:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert 6 <= len(receiver.at("/slow")) < 20, "the kill should land mid-delivery"
        proc = start()
        end = time.monotonic() + 15
        while len(receiver.accepted) < 20 and time.monotonic() < end:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    got = receiver.at("/slow")
    assert set(receiver.accepted) == set(sent)  # every event arrived
    assert all(r.verified for r in got)
    by_id: dict[str, set[bytes]] = {}
    for r in got:
        by_id.setdefault(r.id, set()).add(r.body)
    assert all(len(bodies) == 1 for bodies in by_id.values())  # a repeat is the same event, same id
    assert len(got) - len(by_id) <= 1  # one endpoint: at most the one POST in flight at the kill is repeated
    order = [r.id for r in got]
    assert sorted(set(order), key=order.index) == sent  # and in order of events
    assert rows(state, "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'") == [(20,)]


def test_daemon_delivers_as_soon_as_a_poll_commits(feed_server, receiver, tmp_path):
    feed_server.routes["/doj.xml"] = Route(rss(FILLER))
    receiver.hooks["/a"] = Hook()
    cfg = config(tmp_path, [hook("desk", receiver.url("/a"))],
                 [{"name": "doj-press", "kind": "feed", "url": feed_server.url("/doj.xml"), "every": "1s"}])
    state = tmp_path / "st"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHER_")} | ENV
    cmd = [sys.executable, "-m", "watcher", "--config", cfg.path, "--state", str(state), "run"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        end = time.monotonic() + 20
        while feed_server.hits.get("/doj.xml", 0) < 1 and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.5)
        feed_server.routes["/doj.xml"] = Route(rss(FILLER + [DOJ]))
        changed = time.monotonic()
        end = changed + 12
        while not receiver.at("/a") and time.monotonic() < end:
            time.sleep(0.05)
        assert [r.event["type"] for r in receiver.at("/a")] == ["story.created"]
        # polled every second; the outbox's own tick is 10 s, so this is the poll's commit waking it
        assert receiver.at("/a")[0].at - changed < 4.0
        proc.send_signal(signal.SIGTERM)
        t = time.monotonic()
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert time.monotonic() - t < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "outbox stopped" in err


def test_config_rejects_a_secret_that_is_not_whsec(tmp_path):
    from watcher.config import ConfigError

    with pytest.raises(ConfigError, match="whsec_"):
        config(tmp_path, [hook("desk", "https://hooks.example.org/x")], env={"HOOK_SECRET": "hunter2"})


def test_secret_rotation_gives_two_signatures_each_verifying(receiver, tmp_path):
    from tests.hookserver import OLD_SECRET

    receiver.hooks["/new"] = Hook(secret=SECRET)
    receiver.hooks["/old"] = Hook(secret=OLD_SECRET)
    cfg = config(tmp_path, [hook("new", receiver.url("/new")), hook("old", receiver.url("/old"))],
                 env={"HOOK_SECRET": f"{SECRET} {OLD_SECRET}"})
    state = tmp_path / "st"
    seed_events(cfg, state, 1)
    asyncio.run(deliver_once(cfg, state))
    [new], [old] = receiver.at("/new"), receiver.at("/old")
    assert new.verified and old.verified  # a receiver holding either secret accepts
    assert len(new.headers["webhook-signature"].split()) == 2
