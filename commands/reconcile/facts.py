"""Recording what Stripe says happened to an order's money: refunds, disputes, a lost hold.

The webhook handlers (``source="stripe"``) and reconcile (``source="reconciliation"``)
both record through here, under the order's lock (the one the ledger's own capture
and refund take), so a fact that arrives both ways, or twice, is recorded once.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from commands.cancellation import record_void
from commands.ledger import retry_on_conflict
from commands.order_money import order_lock
from commands.reconcile.stripe_records import StripeDispute, StripePayment, StripeRefund
from commands.services import Services
from domain.ids import order_id_for, payment_collection_id_for
from domain.order import Order
from domain.payment_collection import PaymentCollection

REFUNDED_AT_STRIPE = "refunded_at_stripe"
DISPUTE_OPENED = "dispute_opened"
DISPUTE_WON = "dispute_won"
DISPUTE_LOST = "dispute_lost"
CANCELED_AT_STRIPE = "canceled_at_stripe"


@dataclass(frozen=True)
class RecordedFact:
    kind: str
    order_id: UUID
    reference: str
    amount: int


@dataclass(frozen=True)
class Recording:
    facts: list[RecordedFact]
    position: int | None


def order_of(services: Services, payment_intent_id: str, metadata: dict[str, str]) -> UUID | None:
    """The ledger's order whose money this PaymentIntent holds (None: not one of ours)."""
    order_id = order_id_for(payment_intent_id)
    if services.ledger.get_or_none(order_id, Order) is not None:
        return order_id
    supplement = metadata.get("order_id")  # a supplementary hold names its order
    if supplement and metadata.get("supplement") == "true":
        try:
            order_id = UUID(supplement)
        except ValueError:
            return None
        if services.ledger.get_or_none(order_id, Order) is not None:
            return order_id
    return None


def record_refunds(
    services: Services, order_id: UUID, refunds: Iterable[StripeRefund], *, source: str
) -> Recording:
    """Record every settled refund the ledger does not know yet (oldest first)."""
    settled = sorted((r for r in refunds if r.settled), key=lambda r: (r.created, r.id))

    def decide(payment: PaymentCollection) -> list[RecordedFact]:
        facts = []
        for refund in settled:
            reason = f"Refunded at Stripe ({refund.reason or 'no reason given'})."
            if payment.record_stripe_refund(
                refund.amount,
                reference=refund.id,
                reason=reason,
                source=source,
                now=services.clock(),
            ):
                facts.append(RecordedFact(REFUNDED_AT_STRIPE, order_id, refund.id, refund.amount))
        return facts

    return _record(services, order_id, decide)


def record_disputes(
    services: Services, order_id: UUID, disputes: Iterable[StripeDispute], *, source: str
) -> Recording:
    """Record disputes opened, and the outcome of those Stripe has closed."""
    ordered = sorted(disputes, key=lambda d: (d.created, d.id))

    def decide(payment: PaymentCollection) -> list[RecordedFact]:
        facts = []
        now = services.clock()
        for dispute in ordered:
            outcome = dispute.outcome
            if outcome is None:
                if payment.open_dispute(
                    dispute.id,
                    dispute.amount,
                    reason=dispute.reason or "",
                    source=source,
                    now=now,
                ):
                    facts.append(RecordedFact(DISPUTE_OPENED, order_id, dispute.id, dispute.amount))
                continue
            if payment.close_dispute(
                dispute.id, dispute.amount, won=outcome == "won", source=source, now=now
            ):
                kind = DISPUTE_WON if outcome == "won" else DISPUTE_LOST
                facts.append(RecordedFact(kind, order_id, dispute.id, dispute.amount))
        return facts

    return _record(services, order_id, decide)


def record_cancellation(
    services: Services, order_id: UUID, payment: StripePayment, *, source: str
) -> Recording:
    """The hold is gone at Stripe (canceled there, or lapsed): void the order's payment."""
    if payment.status != "canceled":
        return Recording([], None)
    lapsed = payment.cancellation_reason == "automatic"
    reason = (
        "The authorization lapsed at Stripe before capture."
        if lapsed
        else "The PaymentIntent was canceled at Stripe."
    )
    with services.locks.hold(order_lock(order_id)):
        position = record_void(
            services, order_id, reference=payment.id, reason=reason, by=source, source=source
        )
    if position is None:
        return Recording([], None)
    fact = RecordedFact(CANCELED_AT_STRIPE, order_id, payment.id, payment.amount)
    return Recording([fact], position)


Decide = Callable[[PaymentCollection], list[RecordedFact]]


def _record(services: Services, order_id: UUID, decide: Decide) -> Recording:
    with services.locks.hold(order_lock(order_id)):

        def attempt() -> Recording:
            payment = services.ledger.get_or_none(
                payment_collection_id_for(order_id), PaymentCollection
            )
            if payment is None:
                return Recording([], None)
            facts = decide(payment)
            return Recording(facts, services.ledger.save_all(payment) if facts else None)

        return retry_on_conflict(attempt)
