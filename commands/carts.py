"""Cart use cases: start a cart, add and change lines, choose shipping."""

import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from commands.checkout_rules import check_shipping_address
from commands.errors import (
    CartNotFound,
    ShippingOptionNotInRegion,
    UnknownRegion,
    UnknownSalesChannel,
    UnknownShippingOption,
)
from commands.ledger import retry_on_conflict
from commands.ports import PaymentIntent
from commands.pricing import PricedCart, price_from_catalog, variant_in_region
from commands.sales_channels import ANONYMOUS, ChannelAccess, may_use_sales_channel
from commands.services import Services
from domain.cart import Cart
from domain.errors import InvalidRequestValue

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
    email: str | None,
    shipping_address: dict[str, Any] | None = None,
    access: ChannelAccess = ANONYMOUS,
) -> CartResult:
    """Start a cart; a storefront may give the e-mail address later (``change_details``);
    ``access`` says which non-public channels the caller's credential opens."""
    region = services.catalog.region(region_id)
    if region is None:
        raise UnknownRegion(f"There is no region {region_id!r}.")
    channel = services.catalog.sales_channel(sales_channel_id)
    # A channel the caller may not use answers as one that does not exist.
    if channel is None or not may_use_sales_channel(channel, access):
        raise UnknownSalesChannel(f"There is no sales channel {sales_channel_id!r}.")
    check_shipping_address(region, shipping_address)
    if email is not None:
        _check_email(email)
    cart = Cart.start(
        cart_id=uuid4(),
        region_id=region_id,
        sales_channel_id=sales_channel_id,
        currency=region.currency,
        email=email or "",
        shipping_address=shipping_address,
        now=services.clock(),
    )
    position = services.ledger.save_all(cart)
    return CartResult(price_from_catalog(cart, services.catalog), position)


def _check_email(email: str) -> None:
    if not EMAIL.fullmatch(email):
        raise InvalidRequestValue("The e-mail address is not valid.")


def _change(services: Services, cart_id: UUID, decide: Any) -> CartResult:
    """Load, decide, save. No call to Stripe: whether the cart is paid for is on the cart,
    and the PaymentIntent's amount moves when a payment session is asked for again."""

    def attempt() -> CartResult:
        cart = load_cart(services, cart_id)
        decide(cart)
        priced = price_from_catalog(cart, services.catalog)
        position = services.ledger.save_all(cart)
        return CartResult(priced, position)

    return retry_on_conflict(attempt)


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


def change_details(
    services: Services,
    cart_id: UUID,
    *,
    email: str | None = None,
    shipping_address: dict[str, Any] | None = None,
    billing_address: dict[str, Any] | None = None,
) -> CartResult:
    """Set the cart's e-mail and addresses; what is not given stays as it was."""
    if email is not None:
        _check_email(email)

    def decide(cart: Cart) -> None:
        region = services.catalog.region(cart.region_id)
        if region is not None and shipping_address is not None:
            check_shipping_address(region, shipping_address)
        cart.change_details(
            email=cart.email if email is None else email,
            shipping_address=cart.shipping_address
            if shipping_address is None
            else shipping_address,
            billing_address=cart.billing_address if billing_address is None else billing_address,
            now=services.clock(),
        )

    return _change(services, cart_id, decide)


def get_cart(services: Services, cart_id: UUID) -> PricedCart:
    return price_from_catalog(load_cart(services, cart_id), services.catalog)


def record_payment_seen(services: Services, cart_id: UUID, intent: PaymentIntent) -> None:
    """Keep on the cart what Stripe said of its PaymentIntent (a webhook, or our own call).

    Cart changes read this instead of asking Stripe again: a line change costs no Stripe
    call. Nothing is recorded for an intent that is not the cart's current one.
    """

    def attempt() -> None:
        cart = services.ledger.get_or_none(cart_id, Cart)
        if cart is None:
            return
        cart.see_payment(
            intent.id, status=intent.status, amount=intent.amount, now=services.clock()
        )
        services.ledger.save_all(cart)

    retry_on_conflict(attempt)
