"""Email digests end to end, against a real SMTP server on localhost (aiosmtpd)."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.feedserver import Route, now_rfc822, rss
from tests.mail_helpers import PUBLIC, mail_config, seed
from tests.mailserver import MailServer, free_port
from tests.test_story_pipeline import DOJ, FILLER
from tests.webhook_helpers import rows
from watcher.app import deliver_once, poll_once

CHICAGO = {"title": "Justice Department threatens to cut grants to Chicago over sanctuary city ordinance",
           "link": "https://www.justice.gov/opa/pr/chicago-grants", "guid": "doj-2", "pubDate": now_rfc822(-1),
           "description": "The Attorney General warned Chicago that it will withhold Byrne JAG funds unless the city "
                          "ends its sanctuary policies limiting cooperation with ICE."}
HOSTILE_TITLE = ("<script>document.title='pwned'</script> Judge rules for Philadelphia in sanctuary city grant case"
                 "\r\nBcc: victim@evil.example")
PHILLY = {"title": HOSTILE_TITLE.replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;").replace("\n", "&#10;"),
          "link": "https://news.example/philly", "guid": "philly-1", "pubDate": now_rfc822(-1),
          "description": "A federal judge ruled that the Justice Department cannot withhold Byrne JAG grants from "
                         "Philadelphia over its sanctuary city policies, in City of Philadelphia v. Sessions."}
NOISE = [{"title": "Library hours extended for summer", "link": "https://example.org/lib", "guid": "n1",
          "pubDate": now_rfc822(-1), "description": "The county library will stay open later."},
         {"title": "City council approves new bike lanes", "link": "https://example.org/bike", "guid": "n2",
          "pubDate": now_rfc822(-1), "description": "Bike lanes approved downtown."}]
HEADERS = {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post",
           "auto-submitted", "x-auto-response-suppress", "mime-version", "content-type"}


@pytest.fixture
def smtp():
    with MailServer() as server:
        yield server


def _text(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def _html(msg) -> str:
    return msg.get_body(("html",)).get_content()


def test_three_stories_one_message_filters_and_nothing_twice(feed_server, smtp, tmp_path):
    feed_server.routes["/feed.xml"] = Route(rss(FILLER))
    cfg = mail_config(
        tmp_path,
        [{"email": "Desk@Example.org", "schedule": "immediate"},
         {"email": "chicago@example.org", "schedule": "immediate", "filter": {"jurisdictions": ["Chicago, IL"]}},
         {"email": "morning@example.org", "schedule": "daily 07:00", "timezone": "America/Chicago"}],
        [{"name": "news", "kind": "feed", "url": feed_server.url("/feed.xml")}],
        smtp=smtp.settings(),
    )
    state = tmp_path / "st"
    asyncio.run(poll_once(cfg, state))  # the silent baseline
    feed_server.routes["/feed.xml"] = Route(rss(FILLER + [DOJ, CHICAGO, PHILLY] + NOISE))
    counts = asyncio.run(poll_once(cfg, state)).counts
    assert counts["new_items"] == 5 and counts["relevant"] == 3 and counts["stories_new"] == 3
    summary = asyncio.run(deliver_once(cfg, state)).as_dict()
    assert summary["emails_sent"] == 2 and summary["failed"] == 0

    [desk] = smtp.handler.to("Desk@Example.org")
    msg = desk.message
    text = _text(msg)
    assert DOJ["title"] in text and CHICAGO["title"] in text and "Judge rules for Philadelphia" in text
    assert text.count("Sources:") == 3
    assert msg["Subject"].endswith("+ 2 more")
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Message-ID"].endswith("@watch.example.org>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"<{PUBLIC}/unsubscribe?token=" in msg["List-Unsubscribe"] and "<mailto:alerts@watch.example.org?" in msg["List-Unsubscribe"]

    # the hostile title: shown as text, nothing else changed
    assert {k.lower() for k in msg.keys()} == HEADERS  # no Bcc smuggled in
    head = desk.data.split(b"\r\n\r\n", 1)[0].decode()
    assert "victim@evil.example" not in head
    assert re.search(r"^List-Unsubscribe: <https://watch\.example\.org/unsubscribe\?token=[\w.-]+>, <mailto:", head, re.MULTILINE)
    html = _html(msg)
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert "Judge rules for Philadelphia in sanctuary city grant case Bcc: victim@evil.example" in text  # one line
    assert 'style="' in html and "<style" not in html  # CSS inlined

    [chicago] = smtp.handler.to("chicago@example.org")
    ctext = _text(chicago.message)
    assert CHICAGO["title"] in ctext and DOJ["title"] not in ctext and "Philadelphia" not in ctext
    assert "names Chicago, IL" in ctext  # why this matched
    assert chicago.message["Subject"] == f"Funding threat: {CHICAGO['title']}"
    assert smtp.handler.to("morning@example.org") == []  # due at 07:00 Chicago time, not now

    assert asyncio.run(poll_once(cfg, state)).counts["stories_new"] == 0
    again = asyncio.run(deliver_once(cfg, state)).as_dict()
    assert again["emails_sent"] == 0 and len(smtp.handler.received) == 2
    assert rows(state, "SELECT COUNT(*) FROM digests WHERE status = 'sent'") == [(2,)]


def test_smtp_down_then_up_sends_everything_once(tmp_path):
    port = free_port()
    server = MailServer(port)
    cfg = mail_config(tmp_path, [{"email": "a@example.org", "schedule": "immediate"},
                                 {"email": "b@example.org", "schedule": "immediate"}], smtp=server.settings())
    state = tmp_path / "st"
    seed(cfg, state, [{"id": "s-1", "title": "Denver sued"}, {"id": "s-2", "title": "Boston sued"}])
    down = asyncio.run(deliver_once(cfg, state)).as_dict()
    assert down["emails_sent"] == 0 and down["failed"] == 2 and down["pending"] == 4
    assert rows(state, "SELECT status, attempts FROM digests ORDER BY subscriber") == [("failed", 1), ("failed", 1)]
    with server:
        import time

        time.sleep(0.3)  # the first retry wait
        up = asyncio.run(deliver_once(cfg, state)).as_dict()
        assert up["emails_sent"] == 2 and up["pending"] == 0
        assert asyncio.run(deliver_once(cfg, state)).as_dict()["emails_sent"] == 0
        got = server.handler.received
    assert sorted(r.rcpt_tos[0] for r in got) == ["a@example.org", "b@example.org"]
    assert all("Denver sued" in _text(r.message) and "Boston sued" in _text(r.message) for r in got)


def test_a_refused_recipient_bounces_and_others_get_theirs(smtp, tmp_path):
    smtp.handler.refuse.add("gone@example.org")
    cfg = mail_config(tmp_path, [{"email": "gone@example.org", "schedule": "immediate"},
                                 {"email": "ok@example.org", "schedule": "immediate"}], smtp=smtp.settings(bounce_limit=2))
    state = tmp_path / "st"
    for i in range(2):
        seed(cfg, state, [{"id": f"s-{i}", "title": f"Story {i}"}])
        summary = asyncio.run(deliver_once(cfg, state)).as_dict()
        assert summary["emails_sent"] == 1 and summary["failed"] == 1
    assert rows(state, "SELECT status, last_status FROM digests WHERE subscriber = 'gone@example.org'") == [
        ("dead", 550), ("dead", 550)]
    assert rows(state, "SELECT bounces, bouncing FROM subscribers WHERE email = 'gone@example.org'") == [(2, 1)]
    seed(cfg, state, [{"id": "s-9", "title": "Story 9"}])
    assert rows(state, "SELECT COUNT(*) FROM deliveries WHERE target = 'gone@example.org' AND story_id = 's-9'") == [(0,)]
    asyncio.run(deliver_once(cfg, state))
    assert len(smtp.handler.to("ok@example.org")) == 3 and smtp.handler.to("gone@example.org") == []


def test_a_4xx_is_retried_with_the_same_message_id(smtp, tmp_path):
    smtp.handler.busy.add("a@example.org")
    cfg = mail_config(tmp_path, [{"email": "a@example.org", "schedule": "immediate"}], smtp=smtp.settings())
    state = tmp_path / "st"
    seed(cfg, state, [{"id": "s-1", "title": "Story"}])
    assert asyncio.run(deliver_once(cfg, state)).as_dict()["failed"] == 1
    [(digest_id, status, code)] = rows(state, "SELECT id, status, last_status FROM digests")
    assert (status, code) == ("failed", 451)
    smtp.handler.busy.clear()
    import time

    time.sleep(0.3)
    assert asyncio.run(deliver_once(cfg, state)).as_dict()["emails_sent"] == 1
    [r] = smtp.handler.received
    assert r.message["Message-ID"] == f"<{digest_id}@watch.example.org>"


def test_updates_are_marked_and_collapse(smtp, tmp_path):
    cfg = mail_config(tmp_path, [{"email": "a@example.org", "schedule": "immediate"}], smtp=smtp.settings())
    state = tmp_path / "st"
    seed(cfg, state, [{"id": "s-1", "title": "Denver sued over sanctuary law"}])
    asyncio.run(deliver_once(cfg, state))
    seed(cfg, state, [{"id": "s-1", "title": "Denver sued over sanctuary law", "type": "story.updated"},
                      {"id": "s-1", "title": "Denver sued over sanctuary law", "type": "story.updated"},
                      {"id": "s-2", "title": "Boston letter", "kind": "letter"}])
    asyncio.run(deliver_once(cfg, state))
    first, second = smtp.handler.received
    text = _text(second.message)
    assert text.count("[UPDATE]") == 1 and "[UPDATE] Denver sued" in text  # two events, one entry
    assert "[UPDATE] Boston" not in text and "Boston letter" in text
    assert second.message["Subject"] == "Letter: Boston letter + 1 more"  # new stories lead
    assert first.message["Message-ID"] != second.message["Message-ID"]


def test_a_crash_after_claiming_resends_the_same_digest(smtp, tmp_path):
    """Claimed and committed, then the process dies: after restart the digest goes, with its Message-ID;
    and a crash after the server took it but before 'sent' was written sends it again (at-least-once)."""
    from watcher.app import open_mailer
    from watcher.store.db import Database

    cfg = mail_config(tmp_path, [{"email": "a@example.org", "schedule": "immediate"}], smtp=smtp.settings())
    state = tmp_path / "st"
    seed(cfg, state, [{"id": "s-1", "title": "Story"}])

    async def claim_only() -> list[str]:
        async with Database(state) as db, open_mailer(cfg, db, state) as mailer:
            await mailer.prepare()
            made, _ = await mailer.claim_due()
            return made

    [digest_id] = asyncio.run(claim_only())  # ... and the process dies here
    assert smtp.handler.received == []
    assert asyncio.run(deliver_once(cfg, state)).as_dict()["emails_sent"] == 1
    assert smtp.handler.received[0].message["Message-ID"] == f"<{digest_id}@watch.example.org>"
    # pretend the outcome was never written
    import sqlite3

    conn = sqlite3.connect(state / "watcher.sqlite3")
    conn.execute("UPDATE digests SET status = 'pending', next_attempt_at = 0")
    conn.commit()
    conn.close()
    asyncio.run(deliver_once(cfg, state))
    ids = [r.message["Message-ID"] for r in smtp.handler.received]
    assert ids == [f"<{digest_id}@watch.example.org>"] * 2


def test_no_smtp_writes_eml_files(tmp_path):
    cfg = mail_config(tmp_path, [{"email": "a@example.org", "schedule": "immediate"}])
    state = tmp_path / "st"
    seed(cfg, state, [{"id": "s-1", "title": "Story one"}])
    assert asyncio.run(deliver_once(cfg, state)).as_dict()["emails_sent"] == 1
    [(digest_id,)] = rows(state, "SELECT id FROM digests WHERE status = 'sent'")
    files = list((state / "outbox").iterdir())
    assert [f.name for f in files] == [f"{digest_id}.eml"]
    from email import message_from_bytes, policy

    msg = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    assert "Story one" in msg.get_body(("plain",)).get_content()


def test_a_daily_digest_waits_for_its_time(smtp, tmp_path):
    """With a fixed clock: what arrived before 07:00 (Chicago) goes at 07:00; what came at 07:05 waits a day."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from watcher.app import open_mailer
    from watcher.store.db import Database

    tz = ZoneInfo("America/Chicago")

    def at(day: int, h: int, m: int) -> float:
        return datetime(2025, 3, day, h, m, tzinfo=tz).timestamp()

    cfg = mail_config(tmp_path, [{"email": "a@example.org", "schedule": "daily 07:00", "timezone": "America/Chicago"}],
                      smtp=smtp.settings())
    state = tmp_path / "st"
    seed(cfg, state, [{"id": "s-1", "title": "Early story"}], now=at(8, 6, 0))
    seed(cfg, state, [{"id": "s-2", "title": "Late story"}], now=at(8, 7, 5))

    async def round_at(ts: float) -> int:
        async with Database(state) as db, open_mailer(cfg, db, state, clock=lambda: ts) as mailer:
            await mailer.drain_due()
            return mailer.sent

    assert asyncio.run(round_at(at(8, 6, 59))) == 0
    assert asyncio.run(round_at(at(8, 7, 30))) == 1
    assert asyncio.run(round_at(at(8, 20, 0))) == 0
    assert asyncio.run(round_at(at(9, 7, 0))) == 1  # the spring-forward day: 07:00 CDT
    early, late = smtp.handler.received
    assert "Early story" in _text(early.message) and "Late story" not in _text(early.message)
    assert "Late story" in _text(late.message)
