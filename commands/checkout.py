"""Checkout: the payment session, and placing the order exactly once.

Two triggers place an order — the Stripe webhook and the storefront's
``complete`` — and both run ``place_order``: under a lock on the PaymentIntent id,
the order, its authorized payment collection, the completed cart and every stock
reservation are saved in one transaction. The order id follows from the
PaymentIntent id, so a second attempt finds the first order instead of a twin.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.carts import load_cart, record_payment_seen
from commands.catalog import fresh_catalog
from commands.checkout_rules import check_ready_to_pay
from commands.errors import (
    AmountMismatchAtCheckout,
    NoStockLocation,
    NotOurPayment,
    OrderNotCreated,
    PaymentNotAuthorized,
    PaymentSessionMissing,
    ShippingAddressOutsideRegion,
    ShippingAddressRequired,
    ShippingMethodRequired,
    UnknownRegion,
    UnknownShippingOption,
    UnknownVariant,
    VariantNotPriced,
)
from commands.ledger import retry_on_conflict
from commands.order_tokens import access_token_for, token_hash
from commands.ports import PaymentIntent
from commands.pricing import PricedCart, catalog_for_cart, price_cart
from commands.services import Services
from commands.stock import Levels, candidate_locations, reserve_line
from commands.stripe_payments import release_hold_quietly
from domain.capture_timing import editable_until
from domain.cart import PAYABLE_STATUSES, Cart
from domain.errors import CartStateConflict, DomainError, InsufficientStock
from domain.ids import inventory_level_id_for, order_id_for
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection

log = logging.getLogger(__name__)

# Why an authorized payment may still not become an order; its hold is then released.
REFUSALS = (
    InsufficientStock,
    NoStockLocation,
    AmountMismatchAtCheckout,
    CartStateConflict,
    UnknownVariant,
    VariantNotPriced,
    UnknownRegion,
    UnknownShippingOption,
    ShippingMethodRequired,
    ShippingAddressRequired,
    ShippingAddressOutsideRegion,
)


@dataclass(frozen=True)
class PaymentSession:
    payment_intent_id: str
    client_secret: str | None
    amount: int
    currency: str
    position: int | None


@dataclass(frozen=True)
class PlacedOrder:
    order_id: UUID
    # Only in the first answer that places or completes the order (see complete_cart).
    access_token: str | None
    status: str
    position: int | None
    created: bool


def start_payment_session(services: Services, cart_id: UUID) -> PaymentSession:
    """Create (or bring in line) the cart's PaymentIntent for exactly the cart's total.

    The one place besides ``complete`` where the amount moves at Stripe: line changes
    do not call Stripe at all.
    """
    cart = load_cart(services, cart_id)
    cart.check_ready_for_payment()
    catalog = catalog_for_cart(services.catalog, cart)
    priced = price_cart(cart, catalog)
    check_ready_to_pay(priced, catalog)
    total, currency = priced.total, priced.region.currency
    if total <= 0:
        raise CartStateConflict("The cart has nothing to pay.")
    intent = _reusable_intent(services, cart, total)
    if intent is None:
        intent = services.payments.create_payment_intent(
            amount=total,
            currency=currency,
            cart_id=str(cart.id),
            idempotency_key=f"payment-session:{cart.id}:{cart.version}:{total}",
        )

    def record() -> int | None:
        fresh = load_cart(services, cart_id)
        fresh.start_payment_session(intent.id, total, status=intent.status, now=services.clock())
        return services.ledger.save_all(fresh)

    position = retry_on_conflict(record)
    return PaymentSession(intent.id, intent.client_secret, total, currency, position)


def _reusable_intent(services: Services, cart: Cart, total: int) -> PaymentIntent | None:
    if cart.payment_intent_id is None:
        return None
    intent = services.payments.retrieve_payment_intent(cart.payment_intent_id)
    if intent.status in PAYABLE_STATUSES:
        if intent.amount != total:
            intent = services.payments.update_amount(intent.id, total)
        return intent
    if intent.status == "requires_capture" and intent.amount == total:
        return intent
    if intent.status == "requires_capture":
        _release_hold(services, intent, "the cart changed after authorization")
    return None


def complete_cart(services: Services, cart_id: UUID) -> PlacedOrder:
    """The storefront's trigger: the cart's PaymentIntent must be authorized for its total.

    The cart as this process holds it names the PaymentIntent (one read fewer); a placement
    on it is version-checked like any other. Any other outcome on a held cart — no
    session, not authorized (which may move the amount at Stripe), refused — is decided
    again on the cart read fresh.
    """
    held = services.ledger.get_cached(cart_id).get(cart_id)
    if not isinstance(held, Cart):
        return _complete(services, load_cart(services, cart_id), held=False)
    try:
        return _complete(services, held, held=True)
    except _DecideOnFreshState:
        pass
    except OrderNotCreated:
        fresh = load_cart(services, cart_id)
        if (fresh.payment_intent_id, fresh.is_completed) == (held.payment_intent_id, False):
            # Refused on the cart as it stands (place_order read it fresh before
            # refusing), for the payment it names: the refusal stands.
            raise
        return _complete(services, fresh, held=False)
    return _complete(services, load_cart(services, cart_id), held=False)


def _complete(services: Services, cart: Cart, *, held: bool) -> PlacedOrder:
    if cart.is_completed and cart.completed_order_id is not None:
        return _complete_again(services, UUID(cart.completed_order_id))
    if cart.payment_intent_id is None:
        if held:
            raise _DecideOnFreshState
        raise PaymentSessionMissing("The cart has no payment session; create one first.")
    intent = services.payments.retrieve_payment_intent(cart.payment_intent_id)
    if not intent.is_authorized:
        if held:
            raise _DecideOnFreshState
        intent = _amount_in_line(services, cart, intent)
        record_payment_seen(services, cart.id, intent)
        raise PaymentNotAuthorized(
            f"The payment is {intent.status}, not authorized; confirm the payment first."
        )
    placed = place_order(services, intent, cause="storefront")
    return placed if placed.created else _complete_again(services, placed.order_id)


def _complete_again(services: Services, order_id: UUID) -> PlacedOrder:
    """``complete`` of a cart whose order exists (placed by a webhook or an earlier call).

    The order's access token is handed out once: to the first ``complete`` answer. Anyone
    else who knows the cart id learns the order id and status, never the token; the
    storefront that lost its first answer replays it with the same Idempotency-Key.
    """

    def answer() -> PlacedOrder:
        order = services.ledger.get_or_none(order_id, Order)
        if order is None:
            return PlacedOrder(order_id, None, "placed", None, created=False)
        if not order.hand_out_token(to="storefront", now=services.clock()):
            return PlacedOrder(order_id, None, order.status, None, created=False)
        position = services.ledger.save_all(order)
        return PlacedOrder(order_id, _token(services, order_id), order.status, position, False)

    return retry_on_conflict(answer)


def _amount_in_line(services: Services, cart: Cart, intent: PaymentIntent) -> PaymentIntent:
    """An unpaid PaymentIntent asks for the cart's total (changes since the session moved it)."""
    if intent.status not in PAYABLE_STATUSES:
        return intent
    catalog = catalog_for_cart(services.catalog, cart)
    priced = price_cart(cart, catalog)
    if priced.total == intent.amount or priced.total <= 0:
        return intent
    check_ready_to_pay(priced, catalog)
    return services.payments.update_amount(intent.id, priced.total)


def place_order(services: Services, intent: PaymentIntent, *, cause: str) -> PlacedOrder:
    """Place the order for an authorized PaymentIntent, exactly once.

    When it cannot be placed (stock short, amounts differ, cart already completed
    with another payment) nothing is saved, the hold is released at Stripe, and
    ``OrderNotCreated`` is raised.

    It is first decided on the carts, levels and catalog this process holds
    (``_place_on_held_state``); only a save the event store accepted stands on that.
    Anything else — a conflict, a refusal, a location skipped, a cart that is not
    plainly ready — is decided again, here, on state read fresh from the store.
    """
    with services.locks.hold(f"payment-intent:{intent.id}"):
        try:
            return place_under_lock(services, intent, cause)
        except REFUSALS as error:
            _release_hold(services, intent, str(error))
            raise OrderNotCreated(
                f"The order could not be placed: {error} The payment hold was released."
            ) from error


def place_under_lock(services: Services, intent: PaymentIntent, cause: str) -> PlacedOrder:
    """What ``place_order`` does holding the lock: on held state, else on fresh state."""
    placed = _place_on_held_state(services, intent, cause)
    if placed is not None:
        return placed
    return retry_on_conflict(lambda: _place(services, intent, cause, held=False))


class _DecideOnFreshState(Exception):
    """Held state led somewhere other than a plain placement: read it fresh and decide again."""


def _place_on_held_state(
    services: Services, intent: PaymentIntent, cause: str
) -> PlacedOrder | None:
    """The placement decided on held state and accepted by the store, or None."""
    try:
        return _place(services, intent, cause, held=True)
    except (IntegrityError, _DecideOnFreshState, DomainError):
        # The store refused a stale decision (and the ledger dropped what it held of
        # those aggregates), or held state refused: neither stands until fresh state
        # says so.
        return None


def _place(services: Services, intent: PaymentIntent, cause: str, *, held: bool) -> PlacedOrder:
    """``held``: decide on the cart and levels this process holds and on the catalog
    cache; the order is then not read at all (placing it saves its first version,
    which the store refuses if it exists). Otherwise every read is fresh."""
    ledger = services.ledger
    order_id = order_id_for(intent.id)
    cart_id = _cart_id_of(intent)
    if held:
        if cart_id is None:
            raise _DecideOnFreshState
        found = ledger.get_cached(cart_id)
        cart_held = found.get(cart_id)
        if not isinstance(cart_held, Cart) or cart_held.is_completed:
            raise _DecideOnFreshState
    else:
        # The order (if placed before) and the cart, read together.
        found = ledger.get_all(order_id, *([cart_id] if cart_id is not None else []))
    existing = found.get(order_id)
    if isinstance(existing, Order):
        return PlacedOrder(order_id, None, existing.status, None, created=False)
    cart = found.get(cart_id) if cart_id is not None else None
    # Another integration on the same Stripe account, or an intent made by hand: it is
    # not ours to place an order for, nor to cancel.
    if not isinstance(cart, Cart) or not cart.started_payment(intent.id):
        raise NotOurPayment(f"PaymentIntent {intent.id} was not started by a cart of this ledger.")
    if cart.is_completed:
        raise CartStateConflict("The cart was completed already with another payment.")
    if intent.id != cart.payment_intent_id:
        raise CartStateConflict("The cart has started a newer payment session since this one.")

    now = services.clock()
    catalog = catalog_for_cart(services.catalog if held else fresh_catalog(services.catalog), cart)
    priced = price_cart(cart, catalog)
    check_ready_to_pay(priced, catalog)
    expected = Money(priced.total, priced.region.currency)
    if intent.currency != expected.currency or intent.amount != expected.amount:
        raise AmountMismatchAtCheckout(
            f"The payment of {intent.amount} {intent.currency} does not equal the cart total "
            f"of {expected}."
        )

    locations = candidate_locations(catalog, cart.sales_channel_id, priced.shipping_option)
    wanted = [(line.variant_id, location) for line in priced.lines for location in locations]
    deciding = (
        ledger.cache.deciding_on(inventory_level_id_for(*key) for key in wanted)
        if held
        else nullcontext()
    )
    with deciding:
        return _reserve_and_save(
            services, intent, cause, cart, priced, locations, now=now, held=held
        )


def _reserve_and_save(
    services: Services,
    intent: PaymentIntent,
    cause: str,
    cart: Cart,
    priced: PricedCart,
    locations: list[str],
    *,
    now: datetime,
    held: bool,
) -> PlacedOrder:
    """Reserve every line, and save order, payment, cart and levels in one transaction."""
    ledger = services.ledger
    order_id = order_id_for(intent.id)
    expected = Money(priced.total, priced.region.currency)
    levels = Levels(ledger, held=held)
    levels.prefetch((line.variant_id, location) for line in priced.lines for location in locations)
    lines = [
        reserve_line(levels, line, locations, order_id=str(order_id), now=now)
        for line in priced.lines
    ]
    if held and any(
        line.location_id != levels.first_stocked(line.variant_id, locations) for line in lines
    ):
        # A location skipped for want of stock it may have had: not on held state.
        raise _DecideOnFreshState
    token = _token(services, order_id)
    order = Order.place(
        cart_id=str(cart.id),
        payment_intent_id=intent.id,
        region_id=cart.region_id,
        sales_channel_id=cart.sales_channel_id,
        currency=expected.currency,
        email=cart.email,
        shipping_address=cart.shipping_address,
        lines=lines,
        shipping=priced.shipping,
        editable_until=editable_until(services.policy.capture, now),
        access_token_hash=token_hash(token),
        placed_by=cause,
        now=now,
    )
    payment = PaymentCollection.open(
        order_id=order_id, amount=expected, payment_intent_id=intent.id, now=now
    )
    payment.authorize(
        intent.amount, reference=intent.id, capture_before=intent.capture_before, now=now
    )
    # Placed by the storefront's complete: its answer carries the token, once.
    handed_out = cause == "storefront" and order.hand_out_token(to=cause, now=now)
    cart.complete(order_id=str(order_id), payment_intent_id=intent.id, now=now)
    position = ledger.save_all(order, payment, cart, *levels.touched())
    return PlacedOrder(order_id, token if handed_out else None, order.status, position, True)


def _cart_id_of(intent: PaymentIntent) -> UUID | None:
    """The cart a PaymentIntent was started for (None when it names none of ours)."""
    if intent.cart_id is None:
        return None
    try:
        return UUID(intent.cart_id)
    except ValueError:
        return None


def _token(services: Services, order_id: UUID) -> str:
    return access_token_for(services.secrets.order_token_key(), order_id)


def _release_hold(services: Services, intent: PaymentIntent, reason: str) -> None:
    """Cancel a PaymentIntent one of our carts started (callers have made sure it is ours)."""
    canceled = release_hold_quietly(services.payments, intent.id, reason)
    if canceled is None:
        return
    cart_id = _cart_id_of(intent)
    if cart_id is not None:
        record_payment_seen(services, cart_id, canceled)
