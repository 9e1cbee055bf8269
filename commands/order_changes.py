"""Changing an order during its grace period: add a line, change or remove one.

One change is one atomic save: the order's lines and totals, the stock reserved
or released, the payment collection's amount — and, when the new total exceeds
the hold, the authorization raised at Stripe *before* anything is saved. A decline
leaves everything as it was, and the old hold stays capturable.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

from commands.errors import (
    IncrementUnavailable,
    OrderNotFound,
    PaymentRequestRejected,
    UnknownRegion,
    VersionMismatch,
)
from commands.ledger import retry_on_conflict
from commands.order_money import order_lock
from commands.order_tokens import token_matches
from commands.pricing import line_for, variant_in_region
from commands.services import Services
from commands.stock import Levels, candidate_locations, release_line, reserve_line
from commands.stripe_payments import release_hold_quietly
from domain.capture_timing import is_due
from domain.errors import NotAuthorized, OrderNotEditable
from domain.ids import payment_collection_id_for
from domain.order import Order
from domain.payment_collection import PaymentCollection
from domain.quantity import check_line_quantity

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangedOrder:
    order: Order
    payment: PaymentCollection
    position: int | None


def authorize_customer(services: Services, order_id: UUID, token: str | None) -> None:
    """The order's access token, or a 404 that does not say whether the order exists."""
    order = services.ledger.get_or_none(order_id, Order)
    if order is None or not token or not token_matches(token, order.access_token_hash):
        raise OrderNotFound(f"There is no order {order_id}.")
    if services.clock() >= order.placed_at + services.policy.order_token_lifetime:
        # An expired token answers like a wrong one (ORDER_TOKEN_DAYS after placing).
        raise OrderNotFound(f"There is no order {order_id}.")


def add_line_item(
    services: Services,
    order_id: UUID,
    *,
    variant_id: str,
    quantity: int,
    by: str,
    expected_version: int | None = None,
) -> ChangedOrder:
    def change(order: Order, levels: Levels) -> None:
        check_line_quantity(quantity)
        region = services.catalog.region(order.region_id)
        if region is None:
            raise UnknownRegion(f"The order's region {order.region_id!r} no longer exists.")
        variant = variant_in_region(services.catalog, variant_id, region)
        option = (
            services.catalog.shipping_option(order.shipping.option_id) if order.shipping else None
        )
        locations = candidate_locations(services.catalog, order.sales_channel_id, option)
        now = services.clock()
        line = reserve_line(
            levels,
            line_for(variant, region, line_id=str(uuid4()), quantity=quantity, location_id=""),
            locations,
            order_id=str(order.id),
            now=now,
        )
        order.add_line(line, changed_by=by, now=now)

    return _change_order(services, order_id, change, by=by, expected_version=expected_version)


def change_line_item(
    services: Services,
    order_id: UUID,
    line_id: str,
    *,
    quantity: int,
    by: str,
    expected_version: int | None = None,
) -> ChangedOrder:
    """Set a line's quantity (0 removes it); stock follows at the line's own location."""

    def change(order: Order, levels: Levels) -> None:
        line = order.line(line_id)
        now = services.clock()
        order.change_quantity(line_id, quantity, changed_by=by, now=now)
        delta = quantity - line.quantity
        if delta > 0:
            reserve_line(
                levels,
                line.with_quantity(delta),
                [line.location_id],
                order_id=str(order.id),
                now=now,
            )
        elif delta < 0:
            release_line(levels, line, -delta, order_id=str(order.id), now=now)

    return _change_order(services, order_id, change, by=by, expected_version=expected_version)


def _change_order(
    services: Services,
    order_id: UUID,
    change: Callable[[Order, Levels], None],
    *,
    by: str,
    expected_version: int | None,
) -> ChangedOrder:
    with services.locks.hold(order_lock(order_id)):

        def attempt() -> ChangedOrder:
            ledger = services.ledger
            order = ledger.get_or_none(order_id, Order)
            payment = ledger.get_or_none(payment_collection_id_for(order_id), PaymentCollection)
            if order is None or payment is None:
                raise OrderNotFound(f"There is no order {order_id}.")
            if expected_version is not None and expected_version != order.version:
                raise VersionMismatch(
                    f"The order is at version {order.version}, not {expected_version}."
                )
            _check_changeable(services, order, payment)
            previous_total, base_version = order.total, order.version
            levels = Levels(ledger)
            change(order, levels)
            if not order.pending_events:  # nothing moved (a quantity set to what it is)
                return ChangedOrder(order, payment, None)
            now = services.clock()
            supplement = None
            if order.total > payment.authorized:
                supplement = _raise_hold(services, order, payment, base_version)
            try:
                payment.change_amount(order.total, now=now)
                order.record_change(previous_total, changed_by=by, now=now)
                position = ledger.save_all(order, payment, *levels.touched())
            except BaseException:
                if supplement is not None:
                    _cancel_quietly(services, supplement)
                raise
            return ChangedOrder(order, payment, position)

        return retry_on_conflict(attempt)


def _check_changeable(services: Services, order: Order, payment: PaymentCollection) -> None:
    now = services.clock()
    order.check_editable(now)
    if payment.voided or payment.is_captured:
        raise OrderNotEditable(f"The payment is {payment.status}; the order can no longer change.")
    if not payment.is_authorized:
        raise NotAuthorized("The payment is not authorized.")
    if is_due(payment.capture_due_at, now):
        raise OrderNotEditable("The capture is due; the order can no longer change.")


def _raise_hold(
    services: Services, order: Order, payment: PaymentCollection, base_version: int
) -> str | None:
    """Ask Stripe for the larger hold first; a decline raises CardDeclined, nothing saved.

    Returns the id of a supplementary PaymentIntent when one was made (the caller
    cancels it if the change then cannot be saved: Stripe must never hold more
    than the ledger records).
    """
    difference = order.total - payment.authorized
    main = payment.payment_intent_id
    # Per order version and amount: a retried change asks once; another change,
    # even from the same version after a decline, asks anew.
    key = f"{order.id}:{base_version}:{order.total}"
    try:
        intent = services.payments.increment_authorization(
            main,
            amount=payment.holds.get(main, payment.authorized) + difference,
            idempotency_key=f"increment:{key}",
        )
    except PaymentRequestRejected as error:
        if services.policy.increment_fallback != "supplementary":
            raise IncrementUnavailable(
                f"The authorization cannot be raised to {order.total} ({error}); "
                "remove something or place a new order for the rest."
            ) from error
        return _supplement(services, order, payment, difference, key)
    payment.increase_authorization(
        payment.authorized + difference, reference=intent.id, now=services.clock()
    )
    return None


def _supplement(
    services: Services, order: Order, payment: PaymentCollection, difference: int, key: str
) -> str:
    """Hold the difference on the customer's saved card with a second PaymentIntent."""
    first = services.payments.retrieve_payment_intent(payment.payment_intent_id)
    if first.payment_method is None:
        raise IncrementUnavailable(
            "The authorization cannot be raised and the card is not saved for another hold."
        )
    intent = services.payments.create_supplementary_payment_intent(
        amount=difference,
        currency=order.currency,
        payment_method=first.payment_method,
        order_id=str(order.id),
        idempotency_key=f"supplement:{key}",
    )
    if not intent.is_authorized:
        _cancel_quietly(services, intent.id)
        raise IncrementUnavailable(
            f"The card needs the customer to confirm another payment ({intent.status})."
        )
    payment.add_supplementary_authorization(intent.id, difference, now=services.clock())
    return intent.id


def _cancel_quietly(services: Services, payment_intent_id: str) -> None:
    release_hold_quietly(services.payments, payment_intent_id, "the order did not change")
