"""Capturing a payment exactly once (the sweeper's, the timer's and the admin's capture).

The shop's cancel is in ``commands.cancellation``, refunds in ``commands.refunds``.

Exactly once, in three layers: a lock per order (one capture in flight), the
aggregate refuses a second capture, and Stripe's idempotency key
``capture:{payment_collection_id}`` makes a retried call after a crash return the
first result instead of charging again.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from commands.cancellation import record_void
from commands.errors import (
    CardDeclined,
    PaymentProviderUnavailable,
    PaymentRequestRejected,
)
from commands.ledger import retry_on_conflict
from commands.order_money import load_order_money, order_lock
from commands.services import Services
from commands.stripe_payments import capture_share, release_hold
from domain.capture_timing import is_due, is_final_attempt
from domain.errors import DomainError, OrderStateConflict
from domain.order import Order
from domain.payment_collection import PaymentCollection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaptureOutcome:
    order_id: UUID
    status: str  # captured | already_captured | voided | failed | retry | not_due
    amount: int
    position: int | None
    due_at: datetime | None = None  # when not due yet: when it will be


def capture_payment(
    services: Services, order_id: UUID, *, by: str, only_if_due: bool = False
) -> CaptureOutcome:
    outcome = _capture_payment(services, order_id, by=by, only_if_due=only_if_due)
    services.telemetry.count("capture", outcome.status)
    return outcome


def capture_when_woken(services: Services, order_id: UUID) -> CaptureOutcome:
    """The timer's capture: if it woke a moment early (clock granularity), set it again."""
    outcome = capture_payment(services, order_id, by="worker", only_if_due=True)
    if outcome.status == "not_due" and outcome.due_at is not None:
        services.timers.set(order_id, outcome.due_at, services.clock())
    return outcome


def _capture_payment(
    services: Services, order_id: UUID, *, by: str, only_if_due: bool = False
) -> CaptureOutcome:
    """Capture the order's current amount at Stripe and record it, once."""
    with services.locks.hold(order_lock(order_id)):
        order, payment = load_order_money(services, order_id)
        if not only_if_due:
            # Asked for explicitly (the admin): say why not, as a conflict.
            payment.check_capturable(payment.amount)
        if payment.is_captured:
            return CaptureOutcome(order_id, "already_captured", payment.captured, None)
        if payment.voided:
            return CaptureOutcome(order_id, "voided", 0, None)
        now = services.clock()
        if only_if_due and not is_due(payment.capture_due_at, now):
            return CaptureOutcome(order_id, "not_due", 0, None, payment.capture_due_at)
        if payment.capture_failed and only_if_due:
            return CaptureOutcome(order_id, "failed", 0, None)
        amount = payment.amount
        if order.total != amount:
            raise OrderStateConflict(
                f"The order total {order.total} differs from the payment amount {amount}."
            )
        payment.check_capturable(amount)
        try:
            for intent_id, part in payment.capture_plan(amount):
                _capture_part(services, payment, intent_id, part)
        except (CardDeclined, PaymentRequestRejected, PaymentProviderUnavailable) as error:
            return _capture_failed(services, order_id, error, by=by)
        return _record_capture(
            services, order_id, payment.payment_intent_id, amount, loaded=(order, payment)
        )


def _capture_part(
    services: Services, payment: PaymentCollection, intent_id: str, part: int
) -> None:
    """Capture one PaymentIntent's share; a supplementary hold with no share is released."""
    if part == 0:
        release_hold(services.payments, intent_id)
        return
    main = intent_id == payment.payment_intent_id
    try:
        capture_share(services.payments, payment.id, intent_id, part, main=main)
    except PaymentRequestRejected:
        # Captured by an attempt that crashed before recording it? Then this share is done.
        if services.payments.retrieve_payment_intent(intent_id).status != "succeeded":
            raise


def _record_capture(
    services: Services,
    order_id: UUID,
    reference: str,
    amount: int,
    *,
    loaded: tuple[Order, PaymentCollection] | None = None,
) -> CaptureOutcome:
    """Record the capture Stripe made; on the aggregates already ``loaded`` (under the
    order's lock) first, reloaded only if another writer saved to them meanwhile."""
    unused = [loaded] if loaded is not None else []

    def attempt() -> CaptureOutcome:
        order, payment = unused.pop() if unused else load_order_money(services, order_id)
        if payment.is_captured:
            return CaptureOutcome(order_id, "already_captured", payment.captured, None)
        now = services.clock()
        payment.capture(amount, reference=reference, now=now)
        order.mark_captured(amount, now=now)
        return CaptureOutcome(
            order_id, "captured", amount, services.ledger.save_all(order, payment)
        )

    return retry_on_conflict(attempt)


def _capture_failed(
    services: Services, order_id: UUID, error: DomainError, *, by: str
) -> CaptureOutcome:
    _, payment = load_order_money(services, order_id)
    # Stripe may already have captured (a crash after its answer), or the hold may be gone.
    try:
        intent = services.payments.retrieve_payment_intent(payment.payment_intent_id)
        shares = [
            services.payments.retrieve_payment_intent(intent_id).status
            for intent_id, part in payment.capture_plan(payment.amount)
            if part > 0
        ]
    except PaymentProviderUnavailable:
        intent, shares = None, []
    if intent is not None and shares and all(status == "succeeded" for status in shares):
        return _record_capture(services, order_id, intent.id, payment.amount)
    if intent is not None and intent.status == "canceled":
        position = record_void(
            services,
            order_id,
            reference=intent.id,
            reason="The authorization was canceled or expired at Stripe before capture.",
            by=by,
            source="stripe",
        )
        services.alerts.alert(
            "Capture impossible: authorization gone",
            f"Order {order_id}: the PaymentIntent {intent.id} was canceled before capture.",
        )
        return CaptureOutcome(order_id, "voided", 0, position)

    def record_failure() -> tuple[PaymentCollection, bool, int | None]:
        _, fresh = load_order_money(services, order_id)
        final = is_final_attempt(services.policy.capture, fresh.capture_attempts)
        fresh.record_capture_failure(str(error), final=final, now=services.clock())
        return fresh, final, services.ledger.save_all(fresh)

    # The process manager may be saving this collection's schedule at the same moment.
    payment, final, position = retry_on_conflict(record_failure)
    if final:
        services.alerts.alert(
            "Capture failed",
            f"Order {order_id}: capture failed {payment.capture_attempts} times; last: {error}",
        )
        return CaptureOutcome(order_id, "failed", 0, position)
    log.warning("capture of %s failed (attempt %s): %s", order_id, payment.capture_attempts, error)
    return CaptureOutcome(order_id, "retry", 0, position)
