"""Checkout as a use case, over the in-memory ledger, a fake catalog and a fake Stripe.

Given a cart whose PaymentIntent is authorized, When it is completed, Then the
order is placed exactly once with its stock reserved and its payment authorized; when
it cannot be placed, nothing is saved and the hold is released at Stripe.
"""

from __future__ import annotations

from typing import cast
from uuid import UUID

import pytest

from commands.catalog import CatalogStore
from commands.checkout import complete_cart
from commands.errors import OrderNotCreated, PaymentNotAuthorized
from commands.pricing import price_cart
from domain.cart import Cart
from domain.ids import inventory_level_id_for, order_id_for
from domain.inventory_level import InventoryLevel
from domain.order import Order
from domain.payment_collection import PaymentCollection
from tests.unit.commands.fakes import FakeCatalog, Secrets, Shop, a_shop, a_variant
from tests.unit.domain.builders import start_cart


def a_checkout(
    *, stocked: int = 10, quantity: int = 2, status: str = "requires_capture"
) -> tuple[Shop, UUID, int]:
    catalog = FakeCatalog(a_variant())
    shop = a_shop(catalog=cast(CatalogStore, catalog), secrets=Secrets())
    now = shop.clock()
    level = InventoryLevel.stock(
        item_id="v1",
        location_id="loc_main",
        stocked_quantity=stocked,
        allow_backorder=False,
        now=now,
    )
    cart = start_cart()
    cart.add_line(line_id="l1", variant_id="v1", quantity=quantity, now=now)
    total = price_cart(cart, catalog.slice).total
    cart.start_payment_session("pi_c", total, now=now)
    shop.ledger.save_all(cart, level)
    shop.stripe.hold("pi_c", total, status=status, cart_id=str(cart.id))
    return shop, cart.id, total


def reserved(shop: Shop) -> int:
    level = shop.ledger.get_or_none(inventory_level_id_for("v1", "loc_main"), InventoryLevel)
    assert level is not None
    return level.reserved


def test_given_an_authorized_cart_when_completed_twice_then_one_order_is_placed() -> None:
    shop, cart_id, total = a_checkout()
    placed = complete_cart(shop.services, cart_id)
    again = complete_cart(shop.services, cart_id)
    assert (placed.created, again.created) == (True, False)
    assert again.order_id == placed.order_id
    # The token is handed out once: to the first answer, never to whoever asks again.
    assert placed.access_token is not None and again.access_token is None
    order = shop.order(placed.order_id)
    payment = shop.payment(placed.order_id)
    assert order.total == total and payment.authorized == total
    assert payment.status == "authorized"
    assert order.editable_until == shop.clock() + shop.services.policy.capture.grace
    assert reserved(shop) == 2
    cart = shop.ledger.get_or_none(cart_id, Cart)
    assert cart is not None and cart.completed_order_id == str(placed.order_id)
    assert shop.stripe.calls == []  # placing an order moves no money


def test_given_too_little_stock_then_nothing_is_saved_and_the_hold_is_released() -> None:
    shop, cart_id, _ = a_checkout(stocked=1, quantity=2)
    with pytest.raises(OrderNotCreated, match="hold was released"):
        complete_cart(shop.services, cart_id)
    assert shop.stripe.moved("cancel") == [("cancel", "pi_c", "cancel:pi_c")]
    order_id = order_id_for("pi_c")
    assert shop.ledger.get_or_none(order_id, Order) is None
    assert shop.ledger.get_or_none(PaymentCollection.id_for(order_id), PaymentCollection) is None
    assert reserved(shop) == 0


def test_given_a_payment_not_yet_authorized_then_no_order() -> None:
    shop, cart_id, _ = a_checkout(status="requires_payment_method")
    with pytest.raises(PaymentNotAuthorized):
        complete_cart(shop.services, cart_id)
    assert shop.ledger.get_or_none(order_id_for("pi_c"), Order) is None
    assert shop.stripe.calls == []
