"""The pure parts of email: schedules (with daylight saving), places, tokens, the digest view, the message."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from watcher.config import ConfigError, Filter, parse_config
from watcher.deliver import digest, filters, message, tokens
from watcher.deliver.places import resolve
from watcher.deliver.schedule import last_due, next_due
from watcher.domain import Jurisdiction, Story, StoryRef
from watcher.units import parse_schedule

NY = ZoneInfo("America/New_York")


def ny(y: int, mo: int, d: int, h: int, mi: int = 0, fold: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=NY, fold=fold)


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


# --- schedules ---------------------------------------------------------------


def test_daily_on_the_spring_forward_day():
    # 2025-03-09: 02:00 EST becomes 03:00 EDT. 07:00 is 11:00 UTC (it was 12:00 UTC the day before).
    s = parse_schedule("daily 07:00")
    assert next_due(s, NY, ny(2025, 3, 8, 7, 0)) == _utc(ny(2025, 3, 9, 7, 0))
    assert _utc(ny(2025, 3, 9, 7, 0)).hour == 11
    # a time that does not exist that day comes an hour later by the clock, once
    gap = parse_schedule("daily 02:30")
    at = next_due(gap, NY, ny(2025, 3, 8, 12, 0))
    assert at is not None and at.astimezone(NY).strftime("%m-%d %H:%M %Z") == "03-09 03:30 EDT"
    assert next_due(gap, NY, at) == _utc(ny(2025, 3, 10, 2, 30))


def test_daily_on_the_fall_back_day_runs_once():
    s = parse_schedule("daily 01:30")  # 2025-11-02: 01:00-02:00 happens twice
    first = next_due(s, NY, ny(2025, 11, 1, 12, 0))
    assert first == _utc(ny(2025, 11, 2, 1, 30, fold=0))  # EDT, the first 01:30
    second = next_due(s, NY, first)
    assert second == _utc(ny(2025, 11, 3, 1, 30))  # not the second 01:30 (EST) an hour later
    assert last_due(s, NY, _utc(ny(2025, 11, 2, 1, 45, fold=1))) == first


def test_hourly_counts_real_hours_across_dst():
    s = parse_schedule("hourly")
    for start, hours in ((ny(2025, 3, 9, 0), 23), (ny(2025, 11, 2, 0), 25)):
        t, n = _utc(start), 0
        end = _utc(start.replace(day=start.day + 1))
        while True:
            nxt = next_due(s, NY, t)
            assert nxt is not None
            if nxt > end:
                break
            t, n = nxt, n + 1
        assert n == hours


def test_weekly_and_last_due():
    s = parse_schedule("weekly mon 08:15")
    after = ny(2025, 3, 5, 9, 0)  # a Wednesday
    assert next_due(s, NY, after) == _utc(ny(2025, 3, 10, 8, 15))
    assert last_due(s, NY, _utc(after)) == _utc(ny(2025, 3, 3, 8, 15))
    assert last_due(s, NY, _utc(ny(2025, 3, 10, 8, 15))) == _utc(ny(2025, 3, 10, 8, 15))  # at the instant itself
    chicago = ZoneInfo("America/Chicago")
    assert next_due(parse_schedule("daily 07:00"), chicago, _utc(ny(2025, 6, 1, 7, 30))) == datetime(
        2025, 6, 1, 12, 0, tzinfo=UTC)


def test_immediate_has_no_instants():
    s = parse_schedule("immediate")
    now = datetime(2025, 1, 1, tzinfo=UTC)
    assert next_due(s, NY, now) is None and last_due(s, NY, now) == now


# --- places and filters ------------------------------------------------------


@pytest.mark.parametrize(("text", "fips"), [
    ("Cook County, IL", "17031"), ("Chicago, IL", "1714000"), ("Illinois", "17"), ("IL", "17"),
    ("Saint Paul, MN", "2758000"), ("St. Paul, Minnesota", "2758000"), ("New York, NY", "3651000"),
    ("Miami-Dade, FL", "12086"), ("17031", "17031"), ("Nowhere, IL", None), ("99999", None),
])
def test_places_resolve_to_fips(text, fips):
    assert resolve(text) == fips


def _story(*juris: Jurisdiction, **kw: object) -> Story:
    base = dict(id="s-1", title="Sanctuary ruling", kind="ruling", score=0.9, jurisdictions=juris,
                reasons=("reads as ruling",), first_seen=0.0, updated=0.0)
    base.update(kw)
    return Story(**base)  # type: ignore[arg-type]


def test_a_county_filter_matches_by_fips_however_it_was_spelled():
    f = Filter(jurisdictions=("Cook County, IL",))
    assert filters.matches(f, _story(Jurisdiction("County of Cook", "IL", "county", "17031")))
    assert not filters.matches(f, _story(Jurisdiction("Cook County", "GA", "county", "13075")))
    assert not filters.matches(f, _story(Jurisdiction("Cook", "MN", "city", "2713006")))
    assert filters.matches(Filter(jurisdictions=("Illinois",)), _story(Jurisdiction("Chicago", "IL", "city", "1714000")))


def test_unknown_places_are_config_errors_with_their_line():
    text = """settings: {}
sources: []
subscribers:
  - email: a@example.org
    filter:
      jurisdictions:
        - Chicago, IL
        - Gotham City, NJ
"""
    with pytest.raises(ConfigError) as e:
        parse_config(text, "s.yaml", {})
    assert str(e.value).startswith("s.yaml:8: jurisdictions: unknown place 'Gotham City, NJ'")


# --- tokens ------------------------------------------------------------------


def test_tokens_verify_and_resist_forgery():
    key = b"k" * 32
    t = tokens.make(key, "Desk@Example.org")
    assert tokens.verify(key, t) == "desk@example.org"
    head, sig = t.split(".")
    assert tokens.verify(b"x" * 32, t) is None  # another server's key
    assert tokens.verify(key, head + "." + sig[:-1] + ("A" if sig[-1] != "A" else "B")) is None
    other = tokens.make(b"x" * 32, "victim@example.org").split(".")[0]
    assert tokens.verify(key, other + "." + sig) is None  # someone else's address with my signature
    for junk in ("", ".", "a.b.c", "%%%.%%%", "x" * 1000):
        assert tokens.verify(key, junk) is None


# --- the digest and the message ----------------------------------------------


def _entry(sid: str, title: str, kind: str, score: float, url: str = "https://example.org/a") -> Story:
    return _story(Jurisdiction("Philadelphia", "PA", "city", "4260000"), id=sid, title=title, kind=kind, score=score,
                  items=(StoryRef("news", title, url, None, ""),))


def test_digest_groups_by_kind_most_important_first_and_says_what_is_inside():
    view = digest.build([
        (_entry("a", "Letter to Boston", "letter", 0.6), False),
        (_entry("b", "Ruling in Philadelphia v. Sessions", "ruling", 0.95), False),
        (_entry("c", "Letter to Denver", "letter", 0.7), False),
        (_entry("d", "Old ruling gets a new source", "ruling", 0.99), True),
    ], Filter(), datetime(2025, 6, 2, tzinfo=UTC))
    assert [s.kind for s in view.sections] == ["ruling", "letter"]
    assert [e.title for e in view.sections[0].entries] == ["Ruling in Philadelphia v. Sessions", "Old ruling gets a new source"]
    assert [e.title for e in view.sections[1].entries] == ["Letter to Denver", "Letter to Boston"]
    assert view.subject == "Ruling: Ruling in Philadelphia v. Sessions + 3 more"
    assert (view.count, view.new, view.updates) == (4, 3, 1)


def test_outside_text_is_flattened_and_links_must_be_http():
    s = _entry("a", "Title\r\nBcc: x@evil.example\u202e", "ruling", 0.9, url="javascript:alert(1)")
    view = digest.build([(s, False)], Filter(), datetime(2025, 6, 2, tzinfo=UTC))
    e = view.sections[0].entries[0]
    assert e.title == "Title Bcc: x@evil.example" and e.link == "" and e.sources[0].url == ""
    env = message.Envelope("Sanctuary Watch <alerts@example.org>", "a@example.org", view.subject, "dg_1",
                           datetime(2025, 6, 2, tzinfo=UTC), "https://w.example/unsubscribe?token=t",
                           "mailto:alerts@example.org?subject=unsubscribe")
    raw = message.build(env, "text", "<p>html</p>", "https://w.example").as_bytes()
    headers = raw.split(b"\r\n\r\n", 1)[0].decode()
    assert "\nBcc:" not in headers and "Message-ID: <dg_1@w.example>" in headers
    assert "Subject: Ruling: Title Bcc: x@evil.example" in headers


def test_the_wire_bytes_are_the_email_package_s_bytes():
    import random

    for subject, text, html in [("Ruling: plain", "t" * 500, "<p>h</p>" * 300), ("Letter: «Chicago» ☃ " + "y" * 190, "ñ" * 999, ""),
                                ("S", "", "x"), ("Ruling: " + "long " * 60, "a\nb\r\nc", "é" * 57)]:
        env = message.Envelope("Sanctuary Watch <alerts@example.org>", "a@example.org", subject, "dg_1",
                               datetime(2025, 6, 2, tzinfo=UTC), "https://w.example/unsubscribe?token=t" + "x" * 990,
                               "mailto:alerts@example.org?subject=unsubscribe")
        random.seed(7)
        expected = message.build(env, text, html, "https://w.example").as_bytes()
        random.seed(7)
        assert message.build_bytes(env, text, html, "https://w.example") == expected


def test_a_reused_digest_is_the_digest_rendered_afresh(tmp_path):
    from watcher.deliver.render import Bodies, Renderer

    view = digest.build([(_entry("a", "<b>Ruling</b> & \"more\"", "ruling", 0.9), False)], Filter(),
                        datetime(2025, 6, 2, tzinfo=UTC))
    prefix = message.unsubscribe_prefix('https://w.example/a&b"c')
    tokens_ = [message.token_in_url(tokens.make(b"k" * 32, f"reader{i}@example.org")) for i in range(4)]
    (tmp_path / "digest.txt").write_text("{{ unsubscribe_url | upper }} {{ d.subject }}\n")  # does more than print it
    for renderer, reused in ((Renderer(), 2), (Renderer(tmp_path), 0)):
        bodies = Bodies(renderer)
        for t in tokens_:
            assert bodies.get("key", lambda: view, prefix, t) == (view, *renderer.digest(view, prefix + t))
        assert bodies.reused == reused
