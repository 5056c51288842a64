"""/metrics: the store's counts (and the daemon's poll latencies) in the Prometheus text format. Pure.

Counters of polls come from the `sources` table, so they survive restarts; the
latency histogram is kept in the memory of the `watcher run` process and starts
empty with it. Labels are source names, kinds, channels and statuses only: no
subscriber address, webhook name or URL is ever a label.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from watcher.store.views import Counts

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class LatencyHistogram:
    """Poll latencies per source, for the life of the process (not persisted)."""

    buckets: Sequence[float] = LATENCY_BUCKETS
    counts: dict[str, list[int]] = field(default_factory=dict)  # per bucket, not cumulative; last is +Inf
    sums: dict[str, float] = field(default_factory=dict)

    def observe(self, source: str, seconds: float) -> None:
        slots = self.counts.setdefault(source, [0] * (len(self.buckets) + 1))
        i = next((i for i, b in enumerate(self.buckets) if seconds <= b), len(self.buckets))
        slots[i] += 1
        self.sums[source] = self.sums.get(source, 0.0) + seconds


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in labels.items()) + "}"


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help: str, samples: Iterable[tuple[dict[str, str], float]]) -> None:
        self.lines.append(f"# HELP {name} {help}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.lines.append(f"{name}{_labels(**labels)} {_num(value)}")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render(c: Counts, latency: LatencyHistogram | None, now: float, started_at: float | None = None) -> str:
    """The exposition text of one snapshot of the store (and the in-memory histogram)."""
    w = _Writer()
    src = sorted(c.sources, key=lambda s: s.name)

    def per_source(attr: str) -> Iterator[tuple[dict[str, str], float]]:
        for s in src:
            v = getattr(s, attr)
            if v is not None:
                yield {"source": s.name}, float(v)

    if started_at is not None:
        w.family("watcher_start_time_seconds", "gauge", "When this watcher process started (Unix time).",
                 [({}, started_at)])
    w.family("watcher_source_polls_total", "counter", "Polls of each source (fetched, not modified or failed).",
             per_source("polls"))
    w.family("watcher_source_failures_total", "counter", "Failed polls of each source.", per_source("failures"))
    w.family("watcher_source_not_modified_total", "counter",
             "Polls that found nothing new (304, or a body identical to the last).", per_source("not_modified"))
    w.family("watcher_source_last_latency_seconds", "gauge", "Duration of the last poll of each source.",
             per_source("last_latency"))
    w.family("watcher_source_last_poll_timestamp_seconds", "gauge", "When each source was last polled (Unix time).",
             per_source("last_poll_at"))
    w.family("watcher_source_last_success_timestamp_seconds", "gauge",
             "When each source last answered (Unix time).", per_source("last_success_at"))
    w.family("watcher_source_consecutive_failures", "gauge", "Failed polls in a row of each source.",
             per_source("consecutive_failures"))
    w.family("watcher_source_flagged", "gauge", "1 when a source has failed flag_after times in a row.",
             per_source("flagged"))
    if latency is not None:
        _histogram(w, latency)
    w.family("watcher_items", "gauge", "Stored items by source and relevance.",
             [({"source": s, "relevant": "true" if r else "false"}, n) for (s, r), n in sorted(c.items.items())])
    w.family("watcher_stories", "gauge", "Stories by kind, and whether anyone was alerted to them.",
             [({"kind": k, "alerted": "true" if a else "false"}, n) for (k, a), n in sorted(c.stories.items())])
    w.family("watcher_deliveries", "gauge", "Deliveries by channel and status (pending, failed, sent, dead, cancelled).",
             [({"channel": ch, "status": st}, n) for (ch, st), n in sorted(c.deliveries.items())])
    channels = sorted({ch for ch, _ in c.deliveries} | {"email", "webhook"})
    depth = {ch: sum(n for (c2, st), n in c.deliveries.items() if c2 == ch and st in ("pending", "failed"))
             for ch in channels}
    w.family("watcher_outbox_depth", "gauge", "Deliveries still to be sent (pending or failed), by channel.",
             [({"channel": ch}, depth[ch]) for ch in channels])
    w.family("watcher_outbox_oldest_queued_timestamp_seconds", "gauge",
             "When the oldest delivery still to be sent was made (Unix time), by channel.",
             [({"channel": ch}, t) for ch, t in sorted(c.oldest_queued.items())])
    w.family("watcher_outbox_oldest_queued_age_seconds", "gauge",
             "Age of the oldest delivery still to be sent, by channel (0 when none waits).",
             [({"channel": ch}, max(0.0, now - c.oldest_queued[ch]) if ch in c.oldest_queued else 0.0)
              for ch in channels])
    w.family("watcher_digests", "gauge", "Email digests by status.", [({"status": s}, n) for s, n in sorted(c.digests.items())])
    return w.text()


def _histogram(w: _Writer, h: LatencyHistogram) -> None:
    name = "watcher_poll_latency_seconds"
    w.lines.append(f"# HELP {name} Poll durations by source, since this process started.")
    w.lines.append(f"# TYPE {name} histogram")
    for source in sorted(h.counts):
        running = 0
        for bound, n in zip([*h.buckets, math.inf], h.counts[source]):
            running += n
            le = "+Inf" if math.isinf(bound) else repr(bound)
            w.lines.append(f"{name}_bucket{_labels(source=source, le=le)} {running}")
        w.lines.append(f"{name}_sum{_labels(source=source)} {_num(h.sums[source])}")
        w.lines.append(f"{name}_count{_labels(source=source)} {running}")
