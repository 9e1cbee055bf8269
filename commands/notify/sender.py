"""Delivers recorded e-mails: retries with backoff, at most ``max_attempts`` times.

Each e-mail goes out with the idempotency key the notifier derived from its event,
so a send repeated after a crash or a timeout is delivered once by the mail service.
Rate limits, server errors and network failures are retried (honouring the
service's ``retry-after``); anything else, or running out of attempts, marks the
e-mail ``failed`` for the delivery log, and nothing else changes.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from commands.notify.ports import Delivery, DeliveryLog, MailDeliveryFailed, Mailer

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
# Longer than one call to the mail service may take (the SDK's timeout is 30 s).
LEASE = timedelta(minutes=2)
BATCH = 20
MAX_ERROR_TEXT = 500


def retry_delay(
    attempts: int,
    retry_after: float | None,
    *,
    base: timedelta = BASE_DELAY,
    cap: timedelta = MAX_DELAY,
) -> timedelta:
    """The wait before the next attempt: what the service asked for, else base × 2^(n-1)."""
    if retry_after is not None:
        return min(timedelta(seconds=max(retry_after, 0.0)), cap)
    delay: timedelta = base * 2 ** max(attempts - 1, 0)
    return min(delay, cap)


class Sender:
    def __init__(
        self,
        deliveries: DeliveryLog,
        mailer: Mailer,
        clock: Callable[[], datetime],
        *,
        max_attempts: int = MAX_ATTEMPTS,
        base_delay: timedelta = BASE_DELAY,
        batch: int = BATCH,
    ) -> None:
        self._deliveries = deliveries
        self._mailer = mailer
        self._clock = clock
        self._max_attempts = max_attempts
        self._base_delay = base_delay
        self._batch = batch

    def deliver_due(self) -> int:
        """Try every e-mail that is due (one batch); returns how many were tried."""
        due = self._deliveries.claim_due(self._clock(), self._batch, LEASE)
        for delivery in due:
            self._deliver(delivery)
        return len(due)

    def run(self, stop: threading.Event, poll_seconds: float = 0.5) -> None:
        """Deliver until ``stop`` is set; an error is logged and the loop goes on."""
        while not stop.is_set():
            try:
                while self.deliver_due() and not stop.is_set():
                    pass
            except Exception:
                log.exception("e-mail delivery failed; retrying")
            stop.wait(poll_seconds)

    def _deliver(self, delivery: Delivery) -> None:
        try:
            message_id = self._mailer.send(
                delivery.recipient,
                delivery.subject,
                delivery.text,
                delivery.html,
                delivery.idempotency_key,
            )
        except MailDeliveryFailed as error:
            self._failed(delivery, str(error), error.retryable, error.retry_after)
        except Exception as error:  # an adapter bug or an unforeseen network error
            log.exception("mailer raised unexpectedly for %s", delivery.id)
            self._failed(delivery, f"{type(error).__name__}: {error}", True, None)
        else:
            self._deliveries.mark_sent(delivery.id, message_id=message_id, now=self._clock())

    def _failed(
        self, delivery: Delivery, error: str, retryable: bool, retry_after: float | None
    ) -> None:
        error = error[:MAX_ERROR_TEXT]
        now = self._clock()
        if not retryable or delivery.attempts >= self._max_attempts:
            log.warning(
                "e-mail %s failed after %s attempts: %s", delivery.id, delivery.attempts, error
            )
            self._deliveries.mark_failed(delivery.id, error=error, now=now)
            return
        delay = retry_delay(delivery.attempts, retry_after, base=self._base_delay)
        log.info(
            "e-mail %s: attempt %s failed (%s); next in %s",
            delivery.id,
            delivery.attempts,
            error,
            delay,
        )
        self._deliveries.mark_retry(delivery.id, error=error, next_attempt_at=now + delay, now=now)
