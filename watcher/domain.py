"""The values that flow through the pipe: frozen dataclasses, no I/O.

    sources.yaml -> SourceConfig -> FetchResult -> Item -> Verdict -> Story -> Delivery

Everything here is plain data. Parsing, classifying and clustering are pure
functions from these values to these values; only `store/`, `fetch.py` and
`deliver/` touch the outside world.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

KINDS: tuple[str, ...] = (
    "funding_threat",
    "legal_threat",
    "letter",
    "ruling",
    "lawsuit",
    "policy",
    "legislation",
    "enforcement",
    "statement",
)


@dataclass(frozen=True)
class Jurisdiction:
    """A state, county or city that is a party to an action.

    `fips` is the Census code: 2 digits for a state, 5 for a county, 7 for a
    place. `state` is the two-letter postal code.
    """

    name: str
    state: str
    kind: str  # "state" | "county" | "city"
    fips: str

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "state": self.state, "kind": self.kind, "fips": self.fips}


@dataclass(frozen=True)
class Verdict:
    """What the classifier concluded about one item, and why."""

    relevant: bool
    kind: str | None
    score: float
    jurisdictions: tuple[Jurisdiction, ...] = ()
    reasons: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()  # "DOJ", "ICE", "DHS", "White House", "9th Circuit", ...
    legal_refs: tuple[str, ...] = ()  # "8 U.S.C. 1373", "EO 14287", "City of Philadelphia v. Sessions"
    amounts: tuple[str, ...] = ()  # "$1.5 million"

    def as_dict(self) -> dict[str, Any]:
        return {
            "relevant": self.relevant,
            "kind": self.kind,
            "score": round(self.score, 3),
            "jurisdictions": [j.as_dict() for j in self.jurisdictions],
            "reasons": list(self.reasons),
            "actors": list(self.actors),
            "legal_refs": list(self.legal_refs),
            "amounts": list(self.amounts),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Verdict":
        return cls(
            relevant=bool(d["relevant"]),
            kind=d.get("kind"),
            score=float(d.get("score", 0.0)),
            jurisdictions=tuple(Jurisdiction(**j) for j in d.get("jurisdictions", ())),
            reasons=tuple(d.get("reasons", ())),
            actors=tuple(d.get("actors", ())),
            legal_refs=tuple(d.get("legal_refs", ())),
            amounts=tuple(d.get("amounts", ())),
        )


@dataclass(frozen=True)
class Entry:
    """One entry as a source presents it, before identity and state are applied.

    `key` is the source's own stable id when it has one (RSS guid, DOJ uuid,
    Federal Register document number, CourtListener id), else empty: the
    detector then falls back to the canonical URL.
    """

    title: str
    url: str = ""
    key: str = ""
    summary: str = ""
    body: str = ""
    published: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


class FetchStatus(enum.Enum):
    OK = "ok"  # a new body arrived
    NOT_MODIFIED = "not_modified"  # 304, or a body identical to the last one
    FAILED = "failed"


@dataclass(frozen=True)
class FetchResult:
    status: FetchStatus
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    http_status: int | None = None
    error: str | None = None
    transient: bool = True  # for failures: worth retrying soon
    retry_after: float | None = None  # seconds, from a Retry-After header
    elapsed: float = 0.0
    final_url: str = ""


@dataclass(frozen=True)
class Item:
    """An entry with its identity fixed, as it is stored."""

    source: str
    key: str  # stable identity within the source
    alt_key: str  # canonical URL + normalised title: survives rotating guids
    url: str
    title: str
    summary: str
    body: str
    published: datetime | None
    content_hash: str


@dataclass(frozen=True)
class StoryRef:
    """The item fields a story shows for each of its reports."""

    source: str
    title: str
    url: str
    published: datetime | None
    summary: str


@dataclass(frozen=True)
class SourceState:
    """What the store remembers about polling one source."""

    name: str
    kind: str
    url: str
    baseline_done: bool = False
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_poll_at: float | None = None
    last_success_at: float | None = None
    last_status: str | None = None
    last_error: str | None = None
    last_latency: float | None = None
    consecutive_failures: int = 0
    next_attempt_at: float | None = None
    flagged: bool = False
    polls: int = 0
    failures: int = 0
    not_modified: int = 0


def iso_utc(ts: float | datetime | None) -> str | None:
    """Epoch seconds or a datetime -> '2025-03-01T14:05:09Z' (UTC, whole seconds); None stays None."""
    if ts is None:
        return None
    if isinstance(ts, datetime):
        dt = ts if ts.tzinfo is not None else ts.replace(tzinfo=timezone.utc)
        dt = dt.astimezone(timezone.utc)
    else:
        dt = datetime.fromtimestamp(ts, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Story:
    """A story as it leaves the machine (ARCHITECTURE.md section 6): in webhooks, emails and feeds."""

    id: str
    title: str
    kind: str
    score: float
    jurisdictions: tuple[Jurisdiction, ...]
    reasons: tuple[str, ...]
    first_seen: float
    updated: float
    items: tuple[StoryRef, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "kind": self.kind,
            "score": round(self.score, 3),
            "jurisdictions": [j.as_dict() for j in self.jurisdictions],
            "reasons": list(self.reasons),
            "first_seen": iso_utc(self.first_seen),
            "updated": iso_utc(self.updated),
            "items": [
                {"source": r.source, "title": r.title, "url": r.url, "published": iso_utc(r.published), "summary": r.summary}
                for r in self.items
            ],
        }


class DeliveryStatus(str, enum.Enum):
    PENDING = "pending"  # due at next_attempt_at (now, when created)
    FAILED = "failed"  # an attempt failed; waiting on backoff until next_attempt_at
    SENT = "sent"
    DEAD = "dead"  # retries exhausted (or refused for good): kept, retryable by hand
    CANCELLED = "cancelled"  # its recipient left the config: kept, final, never sent


@dataclass(frozen=True)
class Delivery:
    """One message to one recipient about one story event: a row of the outbox.

    `payload` is the exact body, frozen when the delivery is created, so every
    attempt sends the same bytes; `id` is stable across attempts (the
    `webhook-id`, or the email's Message-ID).
    """

    id: str
    channel: str  # "webhook" | "email"
    target: str  # webhook name | subscriber email
    story_id: str | None
    event_id: int | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: float | None
    payload: str
    created_at: float
    last_error: str | None = None
    last_status: int | None = None
    sent_at: float | None = None
    claimed_by: str | None = None  # the sender holding it (deliver/lease.py), until claim_until
    claim_until: float | None = None


@dataclass(frozen=True)
class Endpoint:
    """The live state of one webhook endpoint (its config is `config.Webhook`)."""

    name: str
    url: str
    enabled: bool = True
    disabled_reason: str | None = None
    last_success_at: float | None = None
    consecutive_failures: int = 0
    failing_since: float | None = None


@dataclass(frozen=True)
class Subscription:
    """The live state of one subscriber (its config is `config.Subscriber`), keyed by lower-cased address."""

    email: str
    created_at: float
    unsubscribed_at: float | None = None
    bouncing: bool = False
    bounces: int = 0  # permanent refusals in a row
    last_digest_at: float | None = None
    last_sent_at: float | None = None

    @property
    def active(self) -> bool:
        return self.unsubscribed_at is None and not self.bouncing


@dataclass(frozen=True)
class Digest:
    """One email to one subscriber, covering the deliveries claimed into it.

    Built and committed before it is sent; its `id` fixes the Message-ID, so a
    re-send after a crash is the same message.
    """

    id: str
    subscriber: str
    created_at: float
    status: DeliveryStatus
    attempts: int = 0
    next_attempt_at: float | None = None
    last_error: str | None = None
    last_status: int | None = None
    sent_at: float | None = None
    claimed_by: str | None = None  # the sender holding it (deliver/lease.py), until claim_until
    claim_until: float | None = None
