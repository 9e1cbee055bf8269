"""When a payment is captured: the one home of every timing rule.

Each rule is a pure function of facts the events carry (the authorization time, the
lapse Stripe reported) and of one frozen ``CapturePolicy``, built once from the
settings. The process manager schedules captures with them, the capture use case
checks "is it due" with them, and the capture-schedule view stores their results as
columns so that SQL (the sweeper, the API, the audit) only reads them.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

# Stripe lets an uncaptured card authorization lapse after 7 days unless it says otherwise.
AUTHORIZATION_LIFETIME: Final = timedelta(days=7)
# Capture this long before the authorization lapses.
EXPIRY_MARGIN: Final = timedelta(hours=12)
MAX_CAPTURE_ATTEMPTS: Final = 5
# Between failed capture attempts: 5 s, 10 s, 20 s ... never more than 10 minutes.
RETRY_BASE: Final = timedelta(seconds=5)
RETRY_CAP: Final = timedelta(minutes=10)


@dataclass(frozen=True)
class CapturePolicy:
    """The shop's capture policy: the grace period and how close to a lapse to capture."""

    grace: timedelta
    authorization_lifetime: timedelta = AUTHORIZATION_LIFETIME
    expiry_margin: timedelta = EXPIRY_MARGIN
    max_attempts: int = MAX_CAPTURE_ATTEMPTS


def editable_until(policy: CapturePolicy, placed_at: datetime) -> datetime:
    """The end of an order's grace period: until then the customer may change it."""
    return placed_at + policy.grace


def lapses_at(
    authorized_at: datetime,
    capture_before: datetime | None,
    lifetime: timedelta = AUTHORIZATION_LIFETIME,
) -> datetime:
    """When the authorization lapses: as Stripe said, or ``lifetime`` after it was made."""
    return capture_before or authorized_at + lifetime


def capture_due_at(
    policy: CapturePolicy, authorized_at: datetime, capture_before: datetime | None
) -> datetime:
    """The grace period's end, or earlier if the authorization would lapse first."""
    lapses = lapses_at(authorized_at, capture_before, policy.authorization_lifetime)
    return min(editable_until(policy, authorized_at), lapses - policy.expiry_margin)


def is_due(due_at: datetime | None, now: datetime) -> bool:
    """A capture is due from its due time on; never when none is scheduled."""
    return due_at is not None and due_at <= now


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed capture attempt (exponential, capped)."""
    delay: timedelta = RETRY_BASE * 2 ** min(max(attempts - 1, 0), 16)
    return min(delay, RETRY_CAP)


def next_attempt_at(attempts: int, last_change: datetime) -> datetime | None:
    """When a capture that failed ``attempts`` times may be tried again (None: at once)."""
    if attempts <= 0:
        return None
    return last_change + retry_delay(attempts)


def is_final_attempt(policy: CapturePolicy, attempts_so_far: int) -> bool:
    """Whether the next failure is the last one the ledger tries."""
    return attempts_so_far + 1 >= policy.max_attempts
