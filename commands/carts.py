"""Cart use cases: start a cart, add and change lines, choose shipping."""

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from commands.errors import (
    CartNotFound,
    ShippingOptionNotInRegion,
    UnknownRegion,
    UnknownSalesChannel,
    UnknownShippingOption,
)
from commands.ledger import retry_on_conflict
from commands.pricing import PricedCart, price_from_catalog, variant_in_region
from commands.services import Services
from domain.cart import Cart
from domain.errors import CartStateConflict, InvalidRequestValue

# An address as mail systems take it (RFC 5322's dot-atom, letters of any script): no
# whitespace, quotes, brackets or markup such as "<a@b.c>" or "ada@x.com<script>"
# (fullmatch: `$` would let a final newline in).
_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_LABEL = r"[^\W_](?:(?:[^\W_]|-){0,61}[^\W_])?"
EMAIL = re.compile(
    rf"(?=[^@]{{1,64}}@)(?=.{{3,320}}$){_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+"
    r"(?:[^\W\d_]{2,63}|xn--[a-z0-9-]{1,59})"
)


@dataclass(frozen=True)
class CartResult:
    priced: PricedCart
    position: int | None


def load_cart(services: Services, cart_id: UUID) -> Cart:
    cart = services.ledger.get_or_none(cart_id, Cart)
    if cart is None:
        raise CartNotFound(f"There is no cart {cart_id}.")
    return cart


def create_cart(
    services: Services,
    *,
    region_id: str,
    sales_channel_id: str,
    email: str,
    shipping_address: dict[str, Any] | None = None,
) -> CartResult:
    region = services.catalog.region(region_id)
    if region is None:
        raise UnknownRegion(f"There is no region {region_id!r}.")
    if services.catalog.sales_channel(sales_channel_id) is None:
        raise UnknownSalesChannel(f"There is no sales channel {sales_channel_id!r}.")
    if not EMAIL.fullmatch(email):
        raise InvalidRequestValue("The e-mail address is not valid.")
    cart = Cart.start(
        cart_id=uuid4(),
        region_id=region_id,
        sales_channel_id=sales_channel_id,
        currency=region.currency,
        email=email,
        shipping_address=shipping_address,
        now=services.clock(),
    )
    position = services.ledger.save_all(cart)
    return CartResult(price_from_catalog(cart, services.catalog), position)


def _change(services: Services, cart_id: UUID, decide: Any) -> CartResult:
    def attempt() -> CartResult:
        cart = load_cart(services, cart_id)
        _check_not_paid(services, cart)
        decide(cart)
        priced = price_from_catalog(cart, services.catalog)
        position = services.ledger.save_all(cart)
        return CartResult(priced, position)

    result = retry_on_conflict(attempt)
    return _sync_payment_session(services, result)


def add_line(services: Services, cart_id: UUID, *, variant_id: str, quantity: int) -> CartResult:
    def decide(cart: Cart) -> None:
        region = services.catalog.region(cart.region_id)
        if region is None:
            raise UnknownRegion(f"The cart's region {cart.region_id!r} no longer exists.")
        variant_in_region(services.catalog, variant_id, region)
        cart.add_line(
            line_id=str(uuid4()), variant_id=variant_id, quantity=quantity, now=services.clock()
        )

    return _change(services, cart_id, decide)


def change_line(services: Services, cart_id: UUID, line_id: str, *, quantity: int) -> CartResult:
    return _change(
        services,
        cart_id,
        lambda cart: cart.change_quantity(line_id, quantity, now=services.clock()),
    )


def choose_shipping(services: Services, cart_id: UUID, *, shipping_option_id: str) -> CartResult:
    def decide(cart: Cart) -> None:
        option = services.catalog.shipping_option(shipping_option_id)
        if option is None:
            raise UnknownShippingOption(f"There is no shipping option {shipping_option_id!r}.")
        if option.region_id != cart.region_id:
            raise ShippingOptionNotInRegion(
                f"Shipping option {shipping_option_id!r} does not serve region {cart.region_id!r}."
            )
        cart.choose_shipping(shipping_option_id, now=services.clock())

    return _change(services, cart_id, decide)


def get_cart(services: Services, cart_id: UUID) -> PricedCart:
    return price_from_catalog(load_cart(services, cart_id), services.catalog)


PAYABLE_STATUSES = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action"}
)


def _check_not_paid(services: Services, cart: Cart) -> None:
    """Once the customer's card is authorized, the cart is what they agreed to pay for."""
    if cart.is_completed:
        raise CartStateConflict("The cart was completed; start a new cart.")
    if cart.payment_intent_id is None:
        return
    intent = services.payments.retrieve_payment_intent(cart.payment_intent_id)
    if intent.status not in PAYABLE_STATUSES and intent.status != "canceled":
        raise CartStateConflict(
            f"The cart's payment is {intent.status}; complete the checkout or start a new cart."
        )


def _sync_payment_session(services: Services, result: CartResult) -> CartResult:
    """Keep the open PaymentIntent's amount equal to the cart total."""
    cart = result.priced.cart
    total = result.priced.total
    if cart.payment_intent_id is None or cart.payment_amount == total or total <= 0:
        return result
    intent = services.payments.retrieve_payment_intent(cart.payment_intent_id)
    if intent.status not in PAYABLE_STATUSES:
        return result  # canceled: the next payment session makes a new one
    services.payments.update_amount(intent.id, total)

    def record() -> int | None:
        fresh = load_cart(services, cart.id)
        fresh.start_payment_session(intent.id, total, now=services.clock())
        return services.ledger.save_all(fresh)

    position = retry_on_conflict(record)
    return CartResult(price_from_catalog(load_cart(services, cart.id), services.catalog), position)
