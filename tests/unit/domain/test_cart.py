"""The Cart: variants and quantities until it is completed into an order."""

from collections.abc import Callable

import pytest

from domain.cart import MAX_CART_LINES, Cart
from domain.errors import CartStateConflict, InvalidQuantity, UnknownLineItem
from tests.unit.domain.builders import NOW, new_event_types, replay, start_cart, state


def add(cart: Cart, variant_id: str, quantity: object = 1, line_id: str | None = None) -> str:
    return cart.add_line(
        line_id=line_id or f"line_{variant_id}",
        variant_id=variant_id,
        quantity=quantity,  # type: ignore[arg-type]
        now=NOW,
    )


def test_a_new_cart_is_empty_and_open() -> None:
    cart = start_cart()
    assert cart.lines == {}
    assert not cart.is_completed
    assert new_event_types(cart) == ["Created"]


def test_a_variant_is_added_as_a_line() -> None:
    cart = start_cart()

    line_id = add(cart, "v1", 2)

    assert line_id == "line_v1"
    assert cart.lines == {"line_v1": {"id": "line_v1", "variant_id": "v1", "quantity": 2}}


def test_adding_a_variant_already_in_the_cart_raises_its_quantity() -> None:
    cart = start_cart()
    first = add(cart, "v1", 2)

    again = add(cart, "v1", 3, line_id="another_line")

    assert again == first
    assert list(cart.lines) == [first]
    assert cart.lines[first]["quantity"] == 5
    assert new_event_types(cart) == ["Created", "LineItemAdded", "LineItemQuantityChanged"]


def test_a_merged_quantity_above_999_is_refused() -> None:
    cart = start_cart()
    add(cart, "v1", 500)
    with pytest.raises(InvalidQuantity):
        add(cart, "v1", 500)
    assert cart.lines["line_v1"]["quantity"] == 500


@pytest.mark.parametrize("quantity", [0, -1, 1000, True, 1.0, "1"])
def test_adding_a_bad_quantity_is_refused(quantity: object) -> None:
    cart = start_cart()
    with pytest.raises(InvalidQuantity):
        add(cart, "v1", quantity)
    assert cart.lines == {}


def test_a_cart_holds_at_most_a_hundred_lines() -> None:
    cart = start_cart()
    for i in range(MAX_CART_LINES):
        add(cart, f"v{i}")
    with pytest.raises(CartStateConflict):
        add(cart, "one_more")
    add(cart, "v0")  # an existing variant still merges
    assert cart.lines["line_v0"]["quantity"] == 2


def test_a_line_id_in_use_cannot_be_reused_for_another_variant() -> None:
    cart = start_cart()
    add(cart, "v1", 1, line_id="line_1")
    with pytest.raises(CartStateConflict):
        add(cart, "v2", 1, line_id="line_1")


def test_a_line_quantity_can_be_changed() -> None:
    cart = start_cart()
    add(cart, "v1", 1)

    cart.change_quantity("line_v1", 4, now=NOW)
    cart.change_quantity("line_v1", 4, now=NOW)

    assert cart.lines["line_v1"]["quantity"] == 4
    assert new_event_types(cart).count("LineItemQuantityChanged") == 1


def test_quantity_zero_removes_a_line() -> None:
    cart = start_cart()
    add(cart, "v1")
    add(cart, "v2")

    cart.change_quantity("line_v1", 0, now=NOW)

    assert list(cart.lines) == ["line_v2"]
    assert new_event_types(cart)[-1] == "LineItemRemoved"


@pytest.mark.parametrize("quantity", [-1, 1000, True, 2.5])
def test_changing_to_a_bad_quantity_is_refused(quantity: object) -> None:
    cart = start_cart()
    add(cart, "v1", 3)
    with pytest.raises(InvalidQuantity):
        cart.change_quantity("line_v1", quantity, now=NOW)  # type: ignore[arg-type]
    assert cart.lines["line_v1"]["quantity"] == 3


def test_changing_an_unknown_line_is_refused() -> None:
    with pytest.raises(UnknownLineItem):
        start_cart().change_quantity("nope", 1, now=NOW)


def test_choosing_the_same_shipping_twice_records_it_once() -> None:
    cart = start_cart()
    cart.choose_shipping("so_standard", now=NOW)
    cart.choose_shipping("so_standard", now=NOW)
    cart.choose_shipping("so_express", now=NOW)
    assert cart.shipping_option_id == "so_express"
    assert new_event_types(cart).count("ShippingMethodChosen") == 2


def test_a_payment_session_is_started_for_a_cart_with_lines() -> None:
    cart = start_cart()
    add(cart, "v1")

    cart.start_payment_session("pi_1", 2500, now=NOW)
    cart.start_payment_session("pi_1", 2500, now=NOW)
    cart.start_payment_session("pi_1", 3000, now=NOW)

    assert (cart.payment_intent_id, cart.payment_amount) == ("pi_1", 3000)
    assert new_event_types(cart).count("PaymentSessionStarted") == 2


def test_an_empty_cart_cannot_start_a_payment_session() -> None:
    cart = start_cart()
    with pytest.raises(CartStateConflict, match="empty"):
        cart.start_payment_session("pi_1", 2500, now=NOW)


def test_an_emptied_cart_cannot_start_a_payment_session() -> None:
    cart = start_cart()
    add(cart, "v1")
    cart.change_quantity("line_v1", 0, now=NOW)
    with pytest.raises(CartStateConflict):
        cart.start_payment_session("pi_1", 2500, now=NOW)


def test_completing_a_cart_records_its_order() -> None:
    cart = start_cart()
    add(cart, "v1")

    cart.complete(order_id="order_1", payment_intent_id="pi_1", now=NOW)

    assert cart.is_completed
    assert (cart.completed_order_id, cart.completed_payment_intent_id) == ("order_1", "pi_1")


def test_a_cart_is_completed_only_once() -> None:
    cart = start_cart()
    add(cart, "v1")
    cart.complete(order_id="order_1", payment_intent_id="pi_1", now=NOW)
    with pytest.raises(CartStateConflict):
        cart.complete(order_id="order_2", payment_intent_id="pi_2", now=NOW)
    assert cart.completed_order_id == "order_1"


def test_an_empty_cart_cannot_be_completed() -> None:
    with pytest.raises(CartStateConflict):
        start_cart().complete(order_id="order_1", payment_intent_id="pi_1", now=NOW)


CHANGES: list[Callable[[Cart], object]] = [
    lambda cart: add(cart, "v2"),
    lambda cart: add(cart, "v1"),
    lambda cart: cart.change_quantity("line_v1", 2, now=NOW),
    lambda cart: cart.change_quantity("line_v1", 0, now=NOW),
    lambda cart: cart.choose_shipping("so_express", now=NOW),
    lambda cart: cart.start_payment_session("pi_2", 100, now=NOW),
]


@pytest.mark.parametrize("change", CHANGES)
def test_a_completed_cart_refuses_changes(change: Callable[[Cart], object]) -> None:
    cart = start_cart()
    add(cart, "v1")
    cart.complete(order_id="order_1", payment_intent_id="pi_1", now=NOW)
    before = cart.version

    with pytest.raises(CartStateConflict, match="completed"):
        change(cart)

    assert cart.version == before


def test_replaying_a_carts_events_rebuilds_it() -> None:
    cart = start_cart()
    add(cart, "v1", 2)
    add(cart, "v2")
    add(cart, "v1", 1)
    cart.change_quantity("line_v2", 0, now=NOW)
    cart.choose_shipping("so_standard", now=NOW)
    cart.start_payment_session("pi_1", 2500, now=NOW)
    cart.complete(order_id="order_1", payment_intent_id="pi_1", now=NOW)

    assert state(replay(cart.pending_events)) == state(cart)


def test_a_boolean_quantity_does_not_remove_a_line() -> None:
    cart = start_cart()
    add(cart, "v1", 3)
    with pytest.raises(InvalidQuantity):
        cart.change_quantity("line_v1", False, now=NOW)


def cart_without_email() -> Cart:
    return Cart.start(
        cart_id=start_cart().id,
        region_id="reg_eu",
        sales_channel_id="sc_web",
        currency="eur",
        email="",
        now=NOW,
    )


def test_a_storefront_gives_the_email_and_addresses_after_the_cart_was_started() -> None:
    cart = cart_without_email()
    shipping = {"first_name": "Ada", "country_code": "de"}
    billing = {"first_name": "Ada", "city": "Berlin"}

    cart.change_details(
        email="ada@example.com", shipping_address=shipping, billing_address=billing, now=NOW
    )

    assert (cart.email, cart.shipping_address, cart.billing_address) == (
        "ada@example.com",
        shipping,
        billing,
    )
    assert new_event_types(cart) == ["Created", "DetailsChanged"]
    assert state(replay(cart.pending_events)) == state(cart)


def test_unchanged_details_record_nothing() -> None:
    cart = start_cart()
    cart.change_details(
        email="ada@example.com", shipping_address=None, billing_address=None, now=NOW
    )
    assert new_event_types(cart) == ["Created"]


def test_a_cart_started_before_billing_addresses_existed_has_none() -> None:
    cart = replay(start_cart().pending_events)
    assert cart.billing_address is None


def test_a_cart_without_an_email_cannot_be_paid_for() -> None:
    cart = cart_without_email()
    add(cart, "v1")

    with pytest.raises(CartStateConflict, match="e-mail"):
        cart.start_payment_session("pi_1", 2500, now=NOW)

    assert new_event_types(cart) == ["Created", "LineItemAdded"]


def test_a_completed_cart_keeps_its_details() -> None:
    cart = start_cart()
    add(cart, "v1")
    cart.complete(order_id="o1", payment_intent_id="pi_1", now=NOW)

    with pytest.raises(CartStateConflict):
        cart.change_details(
            email="eve@example.com", shipping_address=None, billing_address=None, now=NOW
        )
