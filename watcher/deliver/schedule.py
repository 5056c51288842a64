"""When a subscriber's digest is due. Pure: times are passed in, zones come from zoneinfo.

A schedule names instants on the subscriber's own wall clock: `hourly` (the top
of every hour), `daily HH:MM`, `weekly DAY HH:MM`. The digest of an instant holds
what was waiting at that instant: at any time `now`, the cutoff is the latest
instant at or before `now` (`last_due`), and deliveries made up to the cutoff
and not yet in a digest are due. So a story found at 07:05 waits for the next
07:00, and however long the daemon was down, what waited goes out in one digest.
`immediate` has no instants: its cutoff is always `now`.

Daylight saving, America/New_York for example:
- a time that does not exist on the spring-forward day (02:30) falls an hour
  later by the clock (03:30 EDT): the digest still comes that day, once;
- a time that happens twice on the fall-back day (01:30) is taken the first
  time (EDT), once;
- `hourly` counts real hours: 23 digests on the spring-forward day, 25 on the
  fall-back day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from watcher.units import Schedule


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _at(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    """The instant the wall clock in `tz` shows `day hour:minute` (fold=0: the earlier reading;
    in a spring-forward gap, the offset from before the change, so the instant falls after it)."""
    return datetime.combine(day, time(hour, minute), tzinfo=tz).astimezone(UTC)


def next_due(schedule: Schedule, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first scheduled instant strictly after `after` (aware), in UTC; None for `immediate`."""
    if schedule.every == "immediate":
        return None
    after = after.astimezone(UTC)
    if schedule.every == "hourly":
        local = after.astimezone(tz)
        past_hour = timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
        return after - past_hour + timedelta(hours=1)  # real hours, whatever the clock does
    day = after.astimezone(tz).date() - timedelta(days=1)  # the day before covers a gap-shifted instant
    for _ in range(16):
        if schedule.every == "daily" or day.weekday() == schedule.weekday:
            at = _at(day, schedule.hour, schedule.minute, tz)
            if at > after:
                return at
        day += timedelta(days=1)
    raise AssertionError("unreachable: a week always holds the weekday")


def last_due(schedule: Schedule, tz: ZoneInfo, now: datetime) -> datetime:
    """The latest scheduled instant at or before `now`, in UTC (`now` itself for `immediate`)."""
    now = now.astimezone(UTC)
    if schedule.every == "immediate":
        return now
    if schedule.every == "hourly":
        local = now.astimezone(tz)
        return now - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    day = now.astimezone(tz).date() + timedelta(days=1)
    for _ in range(16):
        if schedule.every == "daily" or day.weekday() == schedule.weekday:
            at = _at(day, schedule.hour, schedule.minute, tz)
            if at <= now:
                return at
        day -= timedelta(days=1)
    raise AssertionError("unreachable: a week always holds the weekday")


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
