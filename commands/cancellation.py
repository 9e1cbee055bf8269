"""Voiding a payment: the hold released, the order canceled, its stock given back."""

from uuid import UUID

from commands.ledger import retry_on_conflict
from commands.services import Services
from commands.stock import Levels, release_order
from domain.ids import order_id_for, payment_collection_id_for
from domain.order import Order
from domain.payment_collection import PaymentCollection


def record_void(
    services: Services,
    order_id: UUID,
    *,
    reference: str,
    reason: str,
    by: str,
    source: str = "ledger",
) -> int | None:
    """Record that the authorization is gone (canceled at Stripe or by the shop).

    Does nothing for an unknown order, a captured payment or one voided already.
    """

    def attempt() -> int | None:
        ledger = services.ledger
        order = ledger.get_or_none(order_id, Order)
        payment = ledger.get_or_none(payment_collection_id_for(order_id), PaymentCollection)
        if order is None or payment is None or payment.voided or payment.is_captured:
            return None
        now = services.clock()
        payment.void(reference=reference, reason=reason, now=now, source=source)
        order.cancel(reason, canceled_by=by, now=now)
        levels = Levels(ledger)
        release_order(levels, order, now=now)
        return ledger.save_all(order, payment, *levels.touched())

    return retry_on_conflict(attempt)


def void_canceled_intent(services: Services, payment_intent_id: str, *, by: str) -> int | None:
    return record_void(
        services,
        order_id_for(payment_intent_id),
        reference=payment_intent_id,
        reason="The PaymentIntent was canceled at Stripe.",
        by=by,
        source="stripe",
    )
