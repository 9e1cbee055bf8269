"""Order changes during the grace period as use cases, over the in-memory ledger and fakes.

Given an authorized order, When its line's quantity changes, Then the stock, the
payment amount and (for more) the hold at Stripe follow; after the grace period or
once the capture is due, nothing changes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from commands.errors import IncrementUnavailable
from commands.order_changes import change_line_item
from domain.errors import OrderNotEditable
from domain.ids import inventory_level_id_for
from domain.inventory_level import InventoryLevel
from domain.order import Order
from tests.unit.commands.fakes import Shop, a_shop


def reserved(shop: Shop, order: Order) -> int:
    [line] = shop.order(order.id).lines.values()
    level = shop.ledger.get_or_none(
        inventory_level_id_for(line.variant_id, line.location_id), InventoryLevel
    )
    assert level is not None
    return level.reserved


def only_line(order: Order) -> str:
    [line_id] = order.lines
    return line_id


def test_given_an_order_when_a_line_goes_up_and_down_then_stock_hold_and_amount_follow() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    shop.clock.advance(minutes=10)
    changed = change_line_item(shop.services, order.id, only_line(order), quantity=3, by="customer")
    assert changed.order.total == 3 * order.total
    assert changed.payment.amount == changed.order.total == changed.payment.authorized
    assert reserved(shop, order) == 3
    assert [method for method, _, _ in shop.stripe.calls] == ["increment"]
    back = change_line_item(shop.services, order.id, only_line(order), quantity=2, by="customer")
    assert back.payment.amount == 2 * order.total and reserved(shop, order) == 2
    assert len(shop.stripe.calls) == 1  # less money needs no new hold


def test_given_a_card_that_cannot_raise_its_hold_then_nothing_changes() -> None:
    shop = a_shop(increment_fallback="none")
    order = shop.authorized_order()
    shop.stripe.refuse_increments = True
    with pytest.raises(IncrementUnavailable):
        change_line_item(shop.services, order.id, only_line(order), quantity=2, by="customer")
    assert shop.order(order.id).version == order.version
    assert reserved(shop, order) == 1


@pytest.mark.parametrize("minutes", [60, 61])
def test_given_the_grace_period_over_then_the_order_no_longer_changes(minutes: int) -> None:
    shop = a_shop()
    order = shop.authorized_order()
    shop.clock.advance(minutes=minutes)
    with pytest.raises(OrderNotEditable):
        change_line_item(shop.services, order.id, only_line(order), quantity=2, by="customer")
    assert shop.stripe.calls == [] and reserved(shop, order) == 1


def test_given_a_capture_due_before_the_grace_end_then_the_order_no_longer_changes() -> None:
    shop = a_shop()
    order = shop.authorized_order()
    payment = shop.payment(order.id)
    # The authorization lapses soon: the process manager moved the capture earlier.
    payment.schedule_capture(shop.clock() + timedelta(minutes=5), now=shop.clock())
    shop.ledger.save_all(payment)
    shop.clock.advance(minutes=5)
    with pytest.raises(OrderNotEditable, match="capture is due"):
        change_line_item(shop.services, order.id, only_line(order), quantity=2, by="customer")


def test_given_a_quantity_set_to_what_it_is_then_nothing_is_recorded() -> None:
    """No change, no ``Order.Changed`` (and so no "your order was changed" e-mail)."""
    shop = a_shop()
    order = shop.authorized_order()
    [line] = order.lines.values()
    payment_version = shop.payment(order.id).version
    same = change_line_item(shop.services, order.id, line.id, quantity=line.quantity, by="customer")
    assert same.position is None
    assert shop.order(order.id).version == order.version
    assert shop.payment(order.id).version == payment_version
    assert shop.stripe.calls == []
