"""What an attempt's outcome means for its delivery and its endpoint: retry policy as data.

Pure: no clock (`now` is passed in), no randomness (`jitter`, a number in [0, 1),
is passed in), no I/O. The schedule is the list of waits after each failed attempt:
the first attempt is immediate, attempt n+1 comes `schedule[n-1]` (spread by the
jitter) after attempt n, and a delivery whose last scheduled attempt fails is dead.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.domain import DeliveryStatus, Endpoint, iso_utc

# 5s, 5m, 30m, 2h, 5h, 10h, 10h: eight attempts over about 27 hours (the Standard Webhooks
# example schedule, cut to a day).
DEFAULT_SCHEDULE: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True)
class Attempt:
    """What one attempt to send came to."""

    ok: bool
    status: int | None = None  # the HTTP status, None when no answer came
    error: str | None = None  # for the operator: why it failed
    retry_after: float | None = None  # seconds, from Retry-After on a 429 or 503
    gone: bool = False  # 410: the receiver wants nothing more; disable the endpoint
    sent: bool = True  # False when nothing left the machine (refused address, bad URL)
    answer: str = ""  # the start of the response body, for `webhooks test`


@dataclass(frozen=True)
class RetryPolicy:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.2  # each wait is spread over (1 - jitter) .. (1 + jitter) of its value
    max_retry_after: float = 86400.0  # a longer Retry-After is capped to this
    disable_after: float = 5 * 86400.0  # an endpoint failing every attempt for this long is disabled

    @property
    def total(self) -> float:
        return sum(self.schedule)


@dataclass(frozen=True)
class Step:
    """The state a delivery moves to after an attempt, and what happens to its endpoint."""

    status: DeliveryStatus
    attempts: int
    next_attempt_at: float | None
    error: str | None
    http_status: int | None
    disable: str | None = None  # set: disable the endpoint, for this reason


def wait_before(attempt_number: int, policy: RetryPolicy, jitter: float) -> float | None:
    """Seconds to wait after failed attempt number `attempt_number` (1-based), or None: no more."""
    if attempt_number > len(policy.schedule):
        return None
    base = policy.schedule[attempt_number - 1]
    return base * (1.0 - policy.jitter + 2.0 * policy.jitter * jitter)


def after_attempt(attempts_before: int, attempt: Attempt, endpoint: Endpoint | None, policy: RetryPolicy,
                  now: float, jitter: float) -> Step:
    attempts = attempts_before + 1
    if attempt.ok:
        return Step(DeliveryStatus.SENT, attempts, None, None, attempt.status)
    error = attempt.error or (f"HTTP {attempt.status}" if attempt.status else "failed")
    if attempt.gone:
        reason = f"410 Gone at {iso_utc(now)}"
        return Step(DeliveryStatus.DEAD, attempts, None, f"{error}; endpoint disabled", attempt.status, reason)
    disable = None
    if endpoint is not None:
        since = endpoint.failing_since if endpoint.failing_since is not None else now
        if now - since >= policy.disable_after:
            disable = f"failing every attempt since {iso_utc(since)}"
    wait = wait_before(attempts, policy, jitter)
    if wait is None:
        return Step(DeliveryStatus.DEAD, attempts, None, error, attempt.status, disable)
    if attempt.retry_after is not None:
        wait = max(wait, min(attempt.retry_after, policy.max_retry_after))
    return Step(DeliveryStatus.FAILED, attempts, now + wait, error, attempt.status, disable)
