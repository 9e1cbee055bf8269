"""Delivering e-mails: retried with backoff on passing failures, bounded, never duplicated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from commands.notify.ports import Delivery, Email, MailDeliveryFailed
from commands.notify.sender import MAX_ATTEMPTS, Sender, retry_delay

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)


@dataclass
class Row:
    delivery: Delivery
    status: str = "pending"
    due: datetime = NOW
    error: str | None = None
    message_id: str | None = None


class MemoryDeliveryLog:
    """The delivery log's contract, in memory."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.positions: dict[str, int] = {}

    def add(self, delivery_id: str) -> None:
        self.rows[delivery_id] = Row(
            Delivery(
                delivery_id, "ada@example.com", "Hi", "text", "<p>html</p>", f"k-{delivery_id}", 0
            )
        )

    def begin(self, follower: str, position: int) -> None:
        self.positions.setdefault(follower, position)

    def position(self, follower: str) -> int:
        return self.positions.get(follower, 0)

    def record(
        self, emails: Sequence[Email], *, follower: str, after: int, up_to: int, now: datetime
    ) -> bool:
        if self.position(follower) != after:
            return False
        for email in emails:
            self.rows.setdefault(
                email.id,
                Row(
                    Delivery(
                        email.id,
                        email.recipient,
                        email.subject,
                        email.text,
                        email.html,
                        email.idempotency_key,
                        0,
                    )
                ),
            )
        self.positions[follower] = up_to
        return True

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        due = [r for r in self.rows.values() if r.status == "pending" and r.due <= now][:limit]
        for row in due:
            row.delivery = replace(row.delivery, attempts=row.delivery.attempts + 1)
            row.due = now + lease
        return [row.delivery for row in due]

    def mark_sent(self, delivery_id: str, *, message_id: str, now: datetime) -> None:
        row = self.rows[delivery_id]
        row.status, row.message_id, row.error = "sent", message_id, None

    def mark_retry(
        self, delivery_id: str, *, error: str, next_attempt_at: datetime, now: datetime
    ) -> None:
        row = self.rows[delivery_id]
        row.error, row.due = error, next_attempt_at

    def mark_failed(self, delivery_id: str, *, error: str, now: datetime) -> None:
        row = self.rows[delivery_id]
        row.status, row.error = "failed", error


class ScriptedMailer:
    """Fails as scripted (in order), then succeeds; remembers every idempotency key."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.keys: list[str] = []

    def send(self, to: str, subject: str, text: str, html: str, idempotency_key: str) -> str:
        self.keys.append(idempotency_key)
        if self.failures:
            raise self.failures.pop(0)
        return f"msg-{len(self.keys)}"


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def world(*failures: Exception) -> tuple[MemoryDeliveryLog, ScriptedMailer, Clock, Sender]:
    log, mailer, clock = MemoryDeliveryLog(), ScriptedMailer(*failures), Clock()
    log.add("1-order_confirmation")
    return log, mailer, clock, Sender(log, mailer, clock, base_delay=timedelta(seconds=30))


def busy(retry_after: float | None = None) -> MailDeliveryFailed:
    return MailDeliveryFailed("Resend 429", retryable=True, retry_after=retry_after)


def test_an_e_mail_is_sent_once_and_marked_sent() -> None:
    log, mailer, _, sender = world()

    assert sender.deliver_due() == 1
    assert sender.deliver_due() == 0
    row = log.rows["1-order_confirmation"]
    assert (row.status, row.message_id, row.delivery.attempts) == ("sent", "msg-1", 1)
    assert mailer.keys == ["k-1-order_confirmation"]


def test_a_passing_failure_is_retried_after_the_backoff_with_the_same_key() -> None:
    log, mailer, clock, sender = world(busy())

    sender.deliver_due()
    row = log.rows["1-order_confirmation"]
    assert (row.status, row.due) == ("pending", NOW + timedelta(seconds=30))
    assert sender.deliver_due() == 0  # not due yet

    clock.now = row.due
    sender.deliver_due()
    assert (row.status, row.delivery.attempts) == ("sent", 2)
    assert mailer.keys == ["k-1-order_confirmation"] * 2


def test_the_wait_the_service_asks_for_is_honoured() -> None:
    log, _, _, sender = world(busy(retry_after=0))

    sender.deliver_due()
    assert log.rows["1-order_confirmation"].due == NOW
    sender.deliver_due()
    assert log.rows["1-order_confirmation"].status == "sent"


def test_attempts_are_bounded_then_the_e_mail_is_failed() -> None:
    log, mailer, clock, sender = world(*[busy() for _ in range(10)])

    for _ in range(10):
        sender.deliver_due()
        clock.now += timedelta(hours=2)

    row = log.rows["1-order_confirmation"]
    assert (row.status, row.delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(mailer.keys) == MAX_ATTEMPTS
    assert row.error == "Resend 429"


def test_a_refused_e_mail_is_not_retried() -> None:
    log, mailer, _, sender = world(MailDeliveryFailed("Resend 422 invalid", retryable=False))

    sender.deliver_due()
    assert log.rows["1-order_confirmation"].status == "failed"
    assert len(mailer.keys) == 1


def test_an_unexpected_mailer_error_counts_as_a_passing_failure() -> None:
    log, _, _, sender = world(ConnectionError("reset by peer"))

    sender.deliver_due()
    row = log.rows["1-order_confirmation"]
    assert row.status == "pending" and "reset by peer" in (row.error or "")


def test_backoff_doubles_up_to_a_cap_and_a_requested_wait_wins() -> None:
    base = timedelta(seconds=30)
    assert [retry_delay(n, None, base=base).total_seconds() for n in (1, 2, 3, 4)] == [
        30,
        60,
        120,
        240,
    ]
    assert retry_delay(30, None, base=base) == timedelta(hours=1)
    assert retry_delay(3, 2.5, base=base) == timedelta(seconds=2.5)
    assert retry_delay(1, -4, base=base) == timedelta(0)
