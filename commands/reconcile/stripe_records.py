"""What reconciliation reads at Stripe: PaymentIntents with their charge, refunds, disputes.

A port (``StripeRecords``) and the figures it answers with; the adapter that pages
through Stripe's lists with the SDK lives in ``infra``.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class StripePayment:
    """A PaymentIntent and its latest charge, in the figures the ledger keeps."""

    id: str
    status: str
    amount: int
    currency: str
    created: datetime
    amount_capturable: int = 0
    amount_received: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    cancellation_reason: str | None = None
    charge_id: str | None = None
    amount_captured: int = 0  # of the latest charge
    amount_refunded: int = 0
    disputed: bool = False

    @property
    def cart_id(self) -> str | None:
        return self.metadata.get("cart_id")

    @property
    def holds(self) -> int:
        """What the card holder's bank holds for the shop right now."""
        return self.amount_capturable if self.status == "requires_capture" else 0

    @property
    def captured(self) -> int:
        return self.amount_captured if self.status == "succeeded" else 0


@dataclass(frozen=True)
class StripeRefund:
    id: str
    payment_intent_id: str
    amount: int
    status: str  # succeeded | pending | failed | canceled | requires_action
    created: datetime
    reason: str | None = None

    @property
    def settled(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class StripeDispute:
    id: str
    payment_intent_id: str
    amount: int
    status: str
    created: datetime
    reason: str | None = None

    @property
    def outcome(self) -> str | None:
        """``won`` or ``lost`` once Stripe has closed it; None while it is open."""
        if self.status in ("won", "warning_closed"):
            return "won"
        if self.status == "lost":
            return "lost"
        return None


class StripeRecordNotFound(Exception):
    """Stripe has no object with that id."""


class StripeRecords(Protocol):
    """Read-only Stripe, for webhooks (one object) and reconciliation (lists since a date)."""

    def payment(self, payment_intent_id: str) -> StripePayment: ...

    def refunds_of(self, payment_intent_id: str) -> list[StripeRefund]: ...

    def disputes_of(self, payment_intent_id: str) -> list[StripeDispute]: ...

    def dispute(self, dispute_id: str) -> StripeDispute: ...

    def payments_since(self, since: datetime) -> Iterator[StripePayment]:
        """Every PaymentIntent created at or after ``since`` (all pages)."""
        ...

    def refunds_since(self, since: datetime) -> Iterator[StripeRefund]: ...

    def disputes_since(self, since: datetime) -> Iterator[StripeDispute]: ...
