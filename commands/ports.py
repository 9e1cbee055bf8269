"""Ports: what the application needs from the outside world, as protocols.

Adapters live in ``infra``; tests inject real servers or wire-format stand-ins.
"""

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class PaymentIntent:
    """What the ledger reads of a Stripe PaymentIntent."""

    id: str
    status: str
    amount: int
    currency: str
    client_secret: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    payment_method: str | None = None
    capture_before: datetime | None = None
    amount_received: int = 0

    @property
    def cart_id(self) -> str | None:
        return self.metadata.get("cart_id")

    @property
    def is_authorized(self) -> bool:
        return self.status == "requires_capture"


class PaymentGateway(Protocol):
    """The card processor (Stripe). Every money-moving call carries an idempotency key."""

    def create_payment_intent(
        self, *, amount: int, currency: str, cart_id: str, idempotency_key: str
    ) -> PaymentIntent: ...

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent: ...

    def update_amount(self, payment_intent_id: str, amount: int) -> PaymentIntent: ...

    def cancel_payment_intent(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> PaymentIntent: ...

    def capture_payment_intent(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> PaymentIntent: ...

    def create_supplementary_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str,
        order_id: str,
        idempotency_key: str,
    ) -> PaymentIntent:
        """Authorize ``amount`` more on the customer's saved card, as its own PaymentIntent."""
        ...

    def increment_authorization(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> PaymentIntent:
        """Raise the hold to ``amount`` in total."""
        ...

    def refund_payment_intent(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> str:
        """Refund part of a captured payment; returns the refund's id."""
        ...


class CaptureTimers(Protocol):
    """Prompt wake-ups at capture time (Redis TTL keys); the sweeper covers any loss."""

    def set(self, order_id: UUID, due_at: datetime, now: datetime) -> None: ...


class Telemetry(Protocol):
    """Counts what the ledger does, for metrics (outcomes only: never amounts or people)."""

    def count(self, what: str, outcome: str) -> None: ...


class NoTelemetry:
    def count(self, what: str, outcome: str) -> None:
        return None


class OpsAlerts(Protocol):
    """Tells the shop's operators about money that needs a human."""

    def alert(self, subject: str, text: str) -> None: ...


class Locks(Protocol):
    """Named mutual exclusion across processes (Redis, or Postgres advisory locks)."""

    def hold(self, name: str) -> AbstractContextManager[None]: ...


class Clock(Protocol):
    def __call__(self) -> datetime: ...


class WebhookInbox(Protocol):
    """Remembers which webhook events were processed, so a redelivery does nothing."""

    def seen(self, event_id: str) -> bool: ...

    def remember(self, event_id: str, event_type: str, received_at: datetime) -> None: ...


class Secrets(Protocol):
    """Server-side secret material kept by the ledger (never sent to a client)."""

    def order_token_key(self) -> bytes: ...
