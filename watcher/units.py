"""Parsing of the human units used in sources.yaml: durations, sizes, schedules."""

from __future__ import annotations

import re
from dataclasses import dataclass

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    None: 1,
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_duration(text: str | int | float) -> float:
    """'10m' -> 600.0; '1h30m' -> 5400.0; a bare number is seconds."""
    if isinstance(text, bool):
        raise ValueError("expected a duration like 30s, 10m, 1h or 1d")
    if isinstance(text, (int, float)):
        if text < 0:
            raise ValueError("a duration cannot be negative")
        return float(text)
    s = str(text).strip().lower().replace(" ", "")
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(f"bad duration {text!r}: expected a duration like 30s, 10m, 1h or 1d")
    return total


def parse_size(text: str | int) -> int:
    """'10MB' -> 10_000_000; a bare number is bytes."""
    if isinstance(text, bool):
        raise ValueError("expected a size like 10MB")
    if isinstance(text, int):
        if text < 0:
            raise ValueError("a size cannot be negative")
        return text
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"bad size {text!r}: expected a size like 512KB or 10MB")
    unit = m.group(2).lower() if m.group(2) else None
    return int(float(m.group(1)) * _SIZE_UNITS[unit])


@dataclass(frozen=True)
class Schedule:
    """When a subscriber's digest is due: immediate, hourly, daily HH:MM, weekly DAY HH:MM."""

    every: str  # "immediate" | "hourly" | "daily" | "weekly"
    hour: int = 0
    minute: int = 0
    weekday: int = 0  # 0 = Monday

    def __str__(self) -> str:
        if self.every in ("immediate", "hourly"):
            return self.every
        hhmm = f"{self.hour:02d}:{self.minute:02d}"
        if self.every == "daily":
            return f"daily {hhmm}"
        return f"weekly {WEEKDAYS[self.weekday]} {hhmm}"


def _parse_hhmm(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"bad time {text!r}: expected HH:MM")
    return int(m.group(1)), int(m.group(2))


def parse_schedule(text: str) -> Schedule:
    words = str(text).strip().lower().split()
    if words in (["immediate"], ["hourly"]):
        return Schedule(words[0])
    if len(words) == 2 and words[0] == "daily":
        h, m = _parse_hhmm(words[1])
        return Schedule("daily", h, m)
    if len(words) == 3 and words[0] == "weekly":
        day = words[1][:3]
        if day not in WEEKDAYS:
            raise ValueError(f"bad weekday {words[1]!r}: expected one of {', '.join(WEEKDAYS)}")
        h, m = _parse_hhmm(words[2])
        return Schedule("weekly", h, m, WEEKDAYS.index(day))
    raise ValueError(
        f"bad schedule {text!r}: expected immediate, hourly, 'daily HH:MM' or 'weekly mon HH:MM'"
    )
