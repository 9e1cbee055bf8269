"""Refunding part or all of a captured payment (the admin and the console).

The ledger checks the rules before Stripe is asked; each refund has its own
idempotency key (``commands.stripe_payments``), so a retried call refunds once. A
caller that names its request (the API's Idempotency-Key) keeps that key across a
crash even when Stripe's webhook recorded the refund meanwhile; a refund already in
the ledger is never recorded twice.
"""

from uuid import UUID

from commands.order_money import load_decide_save, load_order_money, order_lock
from commands.services import Services
from commands.stripe_payments import refund_name, refund_share
from domain.errors import NotCaptured
from domain.order import Order
from domain.payment_collection import PaymentCollection


def refund_payment(
    services: Services,
    order_id: UUID,
    *,
    amount: int,
    reason: str,
    by: str,
    request_key: str | None = None,
) -> int | None:
    """Refund part or all of a captured payment; the ledger checks the rules before Stripe.

    ``request_key`` names the caller's request (scoped to its credential), so that its
    retries are one refund at Stripe whatever the ledger recorded in between."""
    with services.locks.hold(order_lock(order_id)):
        _, payment = load_order_money(services, order_id)
        payment.check_refundable(amount)
        if not payment.is_captured:  # pragma: no cover - check_refundable already refuses
            raise NotCaptured("Only a captured payment can be refunded.")
        # One key per refund and PaymentIntent: the request's, or the collection's n-th.
        which = refund_name(payment.version, request_key)
        refund_ids = [
            refund_share(
                services.payments,
                payment.id,
                which,
                intent_id,
                part,
                main=intent_id == payment.payment_intent_id,
            )
            for intent_id, part in payment.refund_plan(amount)
        ]
        refund_id = ",".join(refund_ids)

        def decide(_: Order, fresh: PaymentCollection) -> None:
            if set(refund_ids) <= fresh.refund_ids:  # recorded meanwhile (Stripe's webhook)
                return
            fresh.refund(amount, reference=refund_id, reason=reason, now=services.clock())

        return load_decide_save(services, order_id, decide)[1]
