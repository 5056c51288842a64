"""The pure parts of delivery: signing, Slack rendering, filters, the retry policy, the address rule."""

from __future__ import annotations

import ipaddress
import json
import re
from datetime import datetime, timezone

import pytest
from standardwebhooks import Webhook as Verifier
from standardwebhooks.webhooks import WebhookVerificationError

from tests.conftest import ROOT
from tests.hookserver import OLD_SECRET, SECRET
from watcher.config import Filter, WebhookSettings
from watcher.deliver import filters, guard
from watcher.deliver.policy import Attempt, RetryPolicy, after_attempt, wait_before
from watcher.deliver.webhooks import (
    headers,
    render,
    secret_key,
    sign,
    slack_body,
    standard_body,
)
from watcher.domain import DeliveryStatus, Endpoint, Jurisdiction, Story, StoryRef

NOW = 1_750_000_000.0


def story(**kw: object) -> Story:
    base: dict[str, object] = dict(
        id="s-1", title="Justice Department sues Denver", kind="lawsuit", score=0.8,
        jurisdictions=(Jurisdiction("Denver", "CO", "city", "0820000"), Jurisdiction("Cook County", "IL", "county", "17031")),
        reasons=("reads as lawsuit",), first_seen=NOW, updated=NOW,
        items=(StoryRef("doj-press", "Justice Department sues Denver", "https://www.justice.gov/x",
                        datetime(2025, 6, 1, tzinfo=timezone.utc), "The DOJ filed a complaint."),),
    )
    base.update(kw)
    return Story(**base)  # type: ignore[arg-type]


# --- signing -----------------------------------------------------------------


def test_signature_verifies_with_the_official_package():
    body = standard_body("story.created", story(), NOW).encode()
    ts = int(datetime.now(timezone.utc).timestamp())
    h = headers("msg_abc", ts, body, [secret_key(SECRET)])
    assert Verifier(SECRET).verify(body, h)["type"] == "story.created"
    assert h["webhook-signature"] == Verifier(SECRET).sign("msg_abc", datetime.fromtimestamp(ts, timezone.utc), body.decode())
    with pytest.raises(WebhookVerificationError):
        Verifier(OLD_SECRET).verify(body, h)
    with pytest.raises(WebhookVerificationError):
        Verifier(SECRET).verify(body + b" ", h)  # a changed body fails


def test_rotation_signs_with_each_secret():
    body = b'{"type":"story.updated"}'
    ts = int(datetime.now(timezone.utc).timestamp())
    header = sign([secret_key(SECRET), secret_key(OLD_SECRET)], "msg_1", ts, body)
    assert len(header.split(" ")) == 2 and all(s.startswith("v1,") for s in header.split(" "))
    h = {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": header}
    Verifier(SECRET).verify(body, h)
    Verifier(OLD_SECRET).verify(body, h)


def test_non_ascii_bodies_sign_as_sent():
    body = standard_body("story.created", story(title="Niños — “sanctuary” in San José"), NOW).encode()
    ts = int(datetime.now(timezone.utc).timestamp())
    assert Verifier(SECRET).verify(body, headers("msg_2", ts, body, [secret_key(SECRET)]))["data"]["title"].startswith("Niños")


def test_standard_body_is_the_documented_shape():
    event = json.loads(standard_body("story.created", story(), NOW))
    assert list(event) == ["type", "timestamp", "data"]
    assert event["timestamp"] == "2025-06-15T15:06:40Z"
    assert list(event["data"]) == ["id", "title", "kind", "score", "jurisdictions", "reasons", "first_seen", "updated", "items"]
    assert event["data"]["items"][0] == {"source": "doj-press", "title": "Justice Department sues Denver",
                                         "url": "https://www.justice.gov/x", "published": "2025-06-01T00:00:00Z",
                                         "summary": "The DOJ filed a complaint."}


# --- Slack -------------------------------------------------------------------


def _mrkdwn_texts(doc: dict) -> list[str]:
    out = [doc["text"]]
    for block in doc["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [f["text"] for f in block.get("fields", [])]
        out += [e["text"] for e in block.get("elements", [])]
    return out


def test_slack_escapes_outside_text():
    evil = story(
        title="<!channel> Cuts & <b>threats</b>",
        jurisdictions=(Jurisdiction("A<B", "CO", "city", "0800001"),),
        items=(StoryRef("news<x>", "Title <@U123> & co", "https://e.org/a?x=1&y=<2>|z", None, ""),),
    )
    doc = json.loads(slack_body("story.created", evil))
    for text in _mrkdwn_texts(doc):
        # the only < and > left are our own link brackets: <http...|label>
        stripped = re.sub(r"<https?://[^<>|]*\|[^<>]*>", "", text)
        assert "<" not in stripped and ">" not in stripped, text
        assert not re.search(r"&(?!amp;|lt;|gt;)", text), text
    assert "&lt;!channel&gt; Cuts &amp; &lt;b&gt;threats&lt;/b&gt;" in doc["blocks"][0]["text"]["text"]
    assert "<https://e.org/a?x=1&amp;y=&lt;2&gt;%7Cz|Title &lt;@U123&gt; &amp; co>" in doc["blocks"][2]["text"]["text"]


def test_slack_message_has_title_kind_jurisdictions_sources():
    doc = json.loads(render("slack", "story.updated", story(), NOW))
    flat = "\n".join(_mrkdwn_texts(doc))
    assert doc["blocks"][0]["text"]["text"].startswith("*Update: <https://www.justice.gov/x|Justice Department sues Denver>")
    assert "*Kind*\nLawsuit" in flat and "Denver, CO, Cook County, IL" in flat and "(doj-press)" in flat
    assert len(doc["blocks"]) <= 50


def test_slack_ignores_non_http_links():
    doc = json.loads(slack_body("story.created", story(items=(StoryRef("s", "t", "javascript:alert(1)", None, ""),))))
    assert "javascript" not in json.dumps(doc)


# --- filters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "taken"),
    [
        (Filter(), True),
        (Filter(kinds=("lawsuit", "ruling")), True),
        (Filter(kinds=("ruling",)), False),
        (Filter(jurisdictions=("Denver, CO",)), True),
        (Filter(jurisdictions=("denver, colorado",)), True),
        (Filter(jurisdictions=("Denver, IL",)), False),
        (Filter(jurisdictions=("Colorado",)), True),  # a state takes its cities and counties
        (Filter(jurisdictions=("IL",)), True),
        (Filter(jurisdictions=("Texas", "Chicago, IL")), False),
        (Filter(jurisdictions=("Cook County, IL",)), True),
        (Filter(jurisdictions=("City of Denver, CO",)), True),
        (Filter(jurisdictions=("17031",)), True),
        (Filter(jurisdictions=("08",)), True),
        (Filter(keywords=("complaint",)), True),
        (Filter(keywords=("COMPLAINT", "nothing")), True),
        (Filter(keywords=("comp",)), False),  # whole words
        (Filter(min_score=0.8), True),
        (Filter(min_score=0.81), False),
        (Filter(kinds=("lawsuit",), jurisdictions=("Texas",)), False),  # ANDed across lists
        (Filter(kinds=("lawsuit",), jurisdictions=("Texas", "Colorado"), keywords=("sues",)), True),
    ],
)
def test_filters(f, taken):
    assert filters.matches(f, story()) is taken


def test_saint_spellings_agree():
    s = story(jurisdictions=(Jurisdiction("St. Paul", "MN", "city", "2758000"),))
    assert filters.matches(Filter(jurisdictions=("Saint Paul, MN",)), s)


# --- the retry policy --------------------------------------------------------


def test_default_schedule_spans_about_a_day():
    total = sum(WebhookSettings().retry)
    assert 20 * 3600 <= total <= 30 * 3600
    assert RetryPolicy().schedule == WebhookSettings().retry


def test_waits_follow_the_schedule_with_jitter():
    p = RetryPolicy(schedule=(10.0, 100.0), jitter=0.2)
    assert wait_before(1, p, 0.0) == pytest.approx(8.0) and wait_before(1, p, 0.999) == pytest.approx(12.0, rel=1e-3)
    assert wait_before(2, p, 0.5) == pytest.approx(100.0)
    assert wait_before(3, p, 0.5) is None


def test_a_delivery_dies_after_its_last_scheduled_attempt():
    p = RetryPolicy(schedule=(10.0, 100.0), jitter=0.0)
    fail = Attempt(ok=False, status=500, error="HTTP 500")
    s1 = after_attempt(0, fail, None, p, NOW, 0.5)
    assert (s1.status, s1.attempts, s1.next_attempt_at) == (DeliveryStatus.FAILED, 1, NOW + 10)
    s2 = after_attempt(1, fail, None, p, NOW, 0.5)
    assert (s2.status, s2.next_attempt_at) == (DeliveryStatus.FAILED, NOW + 100)
    s3 = after_attempt(2, fail, None, p, NOW, 0.5)
    assert (s3.status, s3.attempts, s3.next_attempt_at) == (DeliveryStatus.DEAD, 3, None)
    assert after_attempt(0, Attempt(ok=True, status=204), None, p, NOW, 0.5).status is DeliveryStatus.SENT


def test_retry_after_wins_when_longer_and_is_capped():
    p = RetryPolicy(schedule=(10.0,), jitter=0.0, max_retry_after=3600.0)
    assert after_attempt(0, Attempt(ok=False, status=429, retry_after=120.0), None, p, NOW, 0.5).next_attempt_at == NOW + 120
    assert after_attempt(0, Attempt(ok=False, status=503, retry_after=2.0), None, p, NOW, 0.5).next_attempt_at == NOW + 10
    assert after_attempt(0, Attempt(ok=False, status=503, retry_after=1e9), None, p, NOW, 0.5).next_attempt_at == NOW + 3600


def test_410_kills_the_delivery_and_disables_the_endpoint():
    step = after_attempt(0, Attempt(ok=False, status=410, gone=True), None, RetryPolicy(), NOW, 0.5)
    assert step.status is DeliveryStatus.DEAD and step.disable and step.disable.startswith("410 Gone")


def test_an_endpoint_failing_for_too_long_is_disabled():
    p = RetryPolicy(disable_after=86400.0)
    fail = Attempt(ok=False, status=500)
    young = Endpoint("x", "https://x", failing_since=NOW - 3600)
    old = Endpoint("x", "https://x", failing_since=NOW - 90000)
    assert after_attempt(0, fail, young, p, NOW, 0.5).disable is None
    step = after_attempt(0, fail, old, p, NOW, 0.5)
    assert step.disable and step.status is DeliveryStatus.FAILED  # it keeps its place for when it is enabled


# --- the address rule --------------------------------------------------------


@pytest.mark.parametrize("addr", ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "169.254.1.1",
                                  "100.64.0.1", "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00:ec2::254", "fc00::1",
                                  "::ffff:10.0.0.1", "2002:a00:1::1", "::"])
def test_non_public_addresses_are_refused(addr):
    assert guard.refusal(ipaddress.ip_address(addr)) is not None


@pytest.mark.parametrize("addr", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(addr):
    assert guard.refusal(ipaddress.ip_address(addr)) is None


@pytest.mark.asyncio
async def test_one_private_answer_refuses_the_name():
    async def resolve(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.2.3"]

    with pytest.raises(guard.Refused, match="10.1.2.3"):
        await guard.vet("rebind.example", 443, False, resolve)
    assert [str(a) for a in await guard.vet("rebind.example", 443, True, resolve)] == ["93.184.216.34", "10.1.2.3"]


def test_docs_name_every_webhook_setting():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for name in WebhookSettings.model_fields:
        assert re.search(rf"^\s*{name}:", doc, re.MULTILINE), f"settings.webhooks.{name} is not in docs/configuration.md"


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "JavaScript:void(0)", "data:text/html,<b>x</b>",
                                 "https://ok.example/a b", "ftp://files.example/x"])
def test_standard_body_carries_only_http_links(url):
    ref = StoryRef("src", "t", url, datetime(2025, 6, 1, tzinfo=timezone.utc), "s")
    event = json.loads(standard_body("story.created", story(items=(ref,)), NOW))
    assert event["data"]["items"][0]["url"] == ""
