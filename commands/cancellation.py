"""Voiding a payment: the hold released, the order canceled, its stock given back.

Also the shop's cancel of an order not yet captured (the admin and the console).
"""

from uuid import UUID

from commands.ledger import retry_on_conflict
from commands.order_money import load_order_money, order_lock
from commands.services import Services
from commands.stock import Levels, release_order
from commands.stripe_payments import release_hold
from domain.errors import OrderStateConflict
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


def cancel_order(services: Services, order_id: UUID, *, by: str) -> int | None:
    """Void the hold at Stripe, release the stock, cancel the order (refused after capture)."""
    with services.locks.hold(order_lock(order_id)):
        order, payment = load_order_money(services, order_id)
        payment.check_voidable()
        if order.status != "placed":
            raise OrderStateConflict(f"A {order.status} order cannot be canceled.")
        for intent_id in payment.payment_intent_ids:
            release_hold(services.payments, intent_id)
        return record_void(
            services,
            order_id,
            reference=payment.payment_intent_id,
            reason="Canceled by the shop.",
            by=by,
        )
