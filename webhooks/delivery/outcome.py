"""What the result of an attempt means for its delivery (docs/api.md, Webhook delivery).

- 2xx: delivered.
- 410: failed, and the endpoint is disabled.
- 429 / 503 with ``Retry-After``: retried when the receiver asked (capped at a day), as long as
  the schedule has retries left.
- anything else (other statuses including 3xx, timeouts, connection errors, refused targets):
  retried after the next delay of the schedule (with jitter), failed once it is exhausted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from webhooks.choices import AttemptOutcome
from webhooks.constants import MAX_RETRY_AFTER_SECONDS

HONOURS_RETRY_AFTER = frozenset({429, 503})
GONE = 410


@dataclass(frozen=True)
class Decision:
    outcome: AttemptOutcome
    next_attempt_at: datetime | None = None


def retry_delay(
    round_attempts: int, schedule: tuple[float, ...], jitter: float, rng: random.Random
) -> float | None:
    """Seconds until the next attempt after attempt ``round_attempts`` failed; None: give up.

    The delay is the schedule's entry scaled by a uniform factor in [1 - jitter, 1 + jitter], so
    that deliveries failing together do not come back together.
    """
    if round_attempts < 1 or round_attempts > len(schedule):
        return None
    base = schedule[round_attempts - 1]
    return base * rng.uniform(1 - jitter, 1 + jitter)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta-seconds or an HTTP date), capped."""
    if not value:
        return None
    value = value.strip()
    # ASCII only: str.isdigit() is also true of '²' and other digits float() refuses.
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = (when - now).total_seconds()
    return min(max(seconds, 0.0), float(MAX_RETRY_AFTER_SECONDS))


def decide(
    *,
    status_code: int | None,
    retry_after: str | None,
    round_attempts: int,
    schedule: tuple[float, ...],
    jitter: float,
    now: datetime,
    rng: random.Random,
) -> Decision:
    """The outcome of one attempt and, for a retry, when the next attempt is due."""
    if status_code is not None and 200 <= status_code < 300:
        return Decision(AttemptOutcome.DELIVERED)
    if status_code == GONE:
        return Decision(AttemptOutcome.GONE)
    delay = retry_delay(round_attempts, schedule, jitter, rng)
    if delay is None:
        return Decision(AttemptOutcome.FAILED)
    if status_code in HONOURS_RETRY_AFTER:
        asked = parse_retry_after(retry_after, now)
        if asked is not None:
            delay = asked  # the receiver knows when it can take the delivery again
    return Decision(AttemptOutcome.RETRY, now + timedelta(seconds=delay))
