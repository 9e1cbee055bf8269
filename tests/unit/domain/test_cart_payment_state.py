"""The cart keeps what Stripe told it of its PaymentIntent, and takes a bounded number of
changes (issue 18: no Stripe call per line change; no cart that grows for ever)."""

import pytest

from domain.cart import MAX_CART_CHANGES, Cart
from domain.errors import CartStateConflict, TooManyChanges
from tests.unit.domain.builders import NOW, new_event_types, replay, start_cart, state


def cart_with_session(intent: str = "pi_1", status: str = "requires_payment_method") -> Cart:
    cart = start_cart()
    cart.add_line(line_id="l1", variant_id="v1", quantity=1, now=NOW)
    cart.start_payment_session(intent, 2500, status=status, now=NOW)
    return cart


def test_a_cart_whose_payment_is_authorized_takes_no_more_line_changes() -> None:
    cart = cart_with_session()
    cart.see_payment("pi_1", status="requires_capture", amount=2500, now=NOW)

    assert cart.is_paid_for
    with pytest.raises(CartStateConflict, match="requires_capture"):
        cart.change_quantity("l1", 2, now=NOW)
    with pytest.raises(CartStateConflict):
        cart.choose_shipping("so_standard", now=NOW)


def test_a_released_authorization_opens_the_cart_again() -> None:
    cart = cart_with_session()
    cart.see_payment("pi_1", status="requires_capture", amount=2500, now=NOW)
    cart.see_payment("pi_1", status="canceled", amount=2500, now=NOW)

    cart.change_quantity("l1", 2, now=NOW)
    assert cart.lines["l1"]["quantity"] == 2


def test_only_news_that_change_what_the_cart_may_do_are_recorded() -> None:
    cart = cart_with_session()
    cart.see_payment("pi_1", status="requires_action", amount=2500, now=NOW)  # still unpaid
    cart.see_payment("pi_other", status="requires_capture", amount=1, now=NOW)  # not its own
    assert new_event_types(cart).count("PaymentStatusSeen") == 0
    cart.see_payment("pi_1", status="requires_capture", amount=2500, now=NOW)
    cart.see_payment("pi_1", status="requires_capture", amount=2500, now=NOW)
    assert new_event_types(cart).count("PaymentStatusSeen") == 1


def test_a_cart_remembers_every_payment_intent_it_started() -> None:
    cart = cart_with_session("pi_1")
    cart.start_payment_session("pi_2", 3000, status="requires_payment_method", now=NOW)

    assert cart.payment_intent_id == "pi_2"
    assert cart.started_payment("pi_1") and cart.started_payment("pi_2")
    assert not cart.started_payment("pi_someone_elses")
    assert state(replay(cart.collect_events())) == state(cart)


def test_a_payment_session_event_of_before_issue_18_replays_without_a_status() -> None:
    cart = cart_with_session(status="")
    assert cart.payment_status is None and not cart.is_paid_for


def test_a_cart_takes_at_most_its_cap_of_changes() -> None:
    cart = start_cart()
    cart.add_line(line_id="l1", variant_id="v1", quantity=1, now=NOW)
    while cart.version < MAX_CART_CHANGES:
        cart.change_quantity("l1", 1 + cart.version % 2 + 1, now=NOW)

    with pytest.raises(TooManyChanges):
        cart.change_quantity("l1", 9, now=NOW)
    with pytest.raises(TooManyChanges):
        cart.add_line(line_id="l2", variant_id="v2", quantity=1, now=NOW)
    with pytest.raises(TooManyChanges):
        cart.start_payment_session("pi_1", 2500, now=NOW)
    cart.complete(order_id="o1", payment_intent_id="pi_1", now=NOW)  # paying is never capped
