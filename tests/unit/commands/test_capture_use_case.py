"""Capture, cancel and refund as use cases, over the in-memory ledger and fake Stripe.

Given an authorized order, When the shop (or the sweeper) captures, cancels or
refunds, Then money moves at Stripe once, under its idempotency key, and the ledger
records exactly what moved.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from commands.cancellation import cancel_order
from commands.capture import capture_payment, capture_when_woken
from commands.refunds import refund_payment
from domain.errors import AlreadyCaptured, NotCaptured, RefundExceedsCaptured
from domain.ids import inventory_level_id_for
from domain.inventory_level import InventoryLevel
from domain.order import Order
from tests.unit.commands.fakes import a_shop


def level_id_of(order: Order) -> UUID:
    [line] = order.lines.values()
    return inventory_level_id_for(line.variant_id, line.location_id)


def test_given_an_authorized_order_when_the_sweeper_comes_early_then_nothing_moves() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    shop.clock.advance(minutes=59)
    outcome = capture_payment(shop.services, order.id, by="sweeper", only_if_due=True)
    assert outcome.status == "not_due"
    assert shop.stripe.calls == []


def test_given_a_due_capture_when_captured_twice_then_stripe_captures_once() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    shop.clock.advance(hours=1)
    first = capture_payment(shop.services, order.id, by="sweeper", only_if_due=True)
    again = capture_payment(shop.services, order.id, by="sweeper", only_if_due=True)
    payment = shop.payment(order.id)
    assert (first.status, again.status) == ("captured", "already_captured")
    assert shop.stripe.moved("capture") == [("capture", "pi_1", f"capture:{payment.id}")]
    assert payment.captured == order.total and payment.status == "captured"
    assert shop.order(order.id).status == "captured"


def test_given_a_declining_card_then_retries_until_the_last_attempt_alerts() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    shop.clock.advance(hours=1)
    shop.stripe.decline_captures = True
    outcomes = [
        capture_payment(shop.services, order.id, by="sweeper", only_if_due=True).status
        for _ in range(shop.services.policy.capture.max_attempts)
    ]
    assert outcomes == ["retry"] * 4 + ["failed"]
    assert shop.alerts.sent == ["Capture failed"]
    after = capture_payment(shop.services, order.id, by="sweeper", only_if_due=True)
    assert after.status == "failed" and len(shop.stripe.moved("capture")) == 5


def test_given_an_authorized_order_when_the_shop_cancels_then_the_hold_is_released() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    cancel_order(shop.services, order.id, by="admin:test")
    assert shop.stripe.moved("cancel") == [("cancel", "pi_1", "cancel:pi_1")]
    assert shop.payment(order.id).status == "canceled"
    assert shop.order(order.id).status == "canceled"
    assert shop.stripe.intents["pi_1"].status == "canceled"
    level = shop.ledger.get_or_none(level_id_of(order), InventoryLevel)
    assert level is not None and level.reserved == 0  # the stock is given back


def test_given_a_captured_order_when_the_shop_cancels_then_it_is_refused() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    capture_payment(shop.services, order.id, by="admin:test")
    with pytest.raises(AlreadyCaptured):
        cancel_order(shop.services, order.id, by="admin:test")
    assert shop.stripe.moved("cancel") == []


def test_given_a_captured_order_when_refunded_in_two_parts_then_each_has_its_own_key() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    capture_payment(shop.services, order.id, by="admin:test")
    payment = shop.payment(order.id)
    refund_payment(shop.services, order.id, amount=500, reason="scratched", by="admin:test")
    version = shop.payment(order.id).version
    refund_payment(shop.services, order.id, amount=300, reason="late", by="admin:test")
    keys = [key for _, _, key in shop.stripe.moved("refund")]
    assert keys == [f"refund:{payment.id}:{payment.version}", f"refund:{payment.id}:{version}"]
    after = shop.payment(order.id)
    assert after.refunded == 800 and after.status == "partially_refunded"


def test_refunds_beyond_the_captured_amount_or_before_capture_are_refused() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    with pytest.raises(NotCaptured):
        refund_payment(shop.services, order.id, amount=100, reason="x", by="admin:test")
    capture_payment(shop.services, order.id, by="admin:test")
    with pytest.raises(RefundExceedsCaptured):
        refund_payment(shop.services, order.id, amount=order.total + 1, reason="x", by="a")
    assert shop.stripe.moved("refund") == []


def test_given_a_timer_that_wakes_early_then_it_is_set_again_for_the_due_time() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    due = shop.payment(order.id).capture_due_at
    shop.clock.advance(minutes=59, seconds=59)
    outcome = capture_when_woken(shop.services, order.id)
    assert outcome.status == "not_due" and shop.stripe.calls == []
    assert shop.timers.set_for == [(order.id, due)]
    shop.clock.advance(seconds=1)
    assert capture_when_woken(shop.services, order.id).status == "captured"
    assert len(shop.timers.set_for) == 1
