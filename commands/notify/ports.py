"""What notifications need from the outside world: a mailer and a delivery log."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID


class MailDeliveryFailed(Exception):
    """The mail service did not take the e-mail.

    ``retryable`` for rate limits, server errors and network failures; ``retry_after``
    is the delay in seconds the service asked for, when it named one.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class Mailer(Protocol):
    """Sends one e-mail (Resend); the same ``idempotency_key`` never sends twice."""

    def send(self, to: str, subject: str, text: str, html: str, idempotency_key: str) -> str:
        """The service's message id; raises ``MailDeliveryFailed``."""
        ...


@dataclass(frozen=True)
class Email:
    """An e-mail the notifier decided on, for one event and one kind of message."""

    notification_id: int
    kind: str
    recipient: str
    subject: str
    text: str
    html: str
    idempotency_key: str
    order_id: UUID | None = None

    @property
    def id(self) -> str:
        """The delivery's key: one e-mail of each kind per event, however often it is read."""
        return f"{self.notification_id}-{self.kind}"


@dataclass(frozen=True)
class Delivery:
    """A recorded e-mail claimed for sending; ``attempts`` counts this one."""

    id: str
    recipient: str
    subject: str
    text: str
    html: str
    idempotency_key: str
    attempts: int


class DeliveryLog(Protocol):
    """The e-mails decided and how their delivery went (a Postgres table)."""

    def position(self, follower: str) -> int:
        """The last notification id ``follower`` has decided on (0 at first)."""
        ...

    def begin(self, follower: str, position: int) -> None:
        """Start ``follower`` at ``position``, unless it has started already."""
        ...

    def record(
        self, emails: Sequence[Email], *, follower: str, after: int, up_to: int, now: datetime
    ) -> bool:
        """Add ``emails`` as pending and move ``follower`` from ``after`` to ``up_to``, atomically.

        False (and nothing written) when the follower is no longer at ``after``:
        another instance decided that stretch of the log already.
        """
        ...

    def claim_due(self, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
        """Pending e-mails due by ``now``, each counted as one more attempt and held back
        from other senders for ``lease`` (a sender that dies mid-send is retried then)."""
        ...

    def mark_sent(self, delivery_id: str, *, message_id: str, now: datetime) -> None: ...

    def mark_retry(
        self, delivery_id: str, *, error: str, next_attempt_at: datetime, now: datetime
    ) -> None: ...

    def mark_failed(self, delivery_id: str, *, error: str, now: datetime) -> None: ...
