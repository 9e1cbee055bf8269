"""The Order: totals by the per-line rule, changes in the grace period, its outcome."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import (
    InvalidMoney,
    InvalidQuantity,
    OrderNotEditable,
    OrderStateConflict,
    TooManyChanges,
    UnknownCurrency,
    UnknownLineItem,
)
from domain.ids import order_id_for
from domain.lines import Line, Shipping
from domain.money import Money, tax_on
from domain.order import CANCELED, CAPTURED, MAX_LINES, MAX_ORDER_CHANGES, PLACED, Order
from tests.unit.domain.builders import (
    GRACE,
    NOW,
    a_line,
    a_shipping,
    later,
    new_event_types,
    place_order,
    replay,
    state,
)

# --- placing --------------------------------------------------------------------------


def test_placing_an_order_computes_its_totals_line_by_line() -> None:
    order = place_order(
        [
            a_line("a", unit_price=1999, quantity=3, tax_rate_bp=2000),  # 5997, tax 1199.4
            a_line("b", unit_price=500, quantity=1, tax_rate_bp=700),  # 500, tax 35
        ],
        shipping=a_shipping(495, tax_rate_bp=2000),  # 495, tax 99
    )

    assert order.subtotal == 6497
    assert order.shipping_total == 495
    assert order.tax_total == 1199 + 35 + 99
    assert order.total == 6497 + 495 + 1333 == 8325
    assert order.total_money == Money(8325, "eur")


def test_tax_is_rounded_per_line_not_per_order() -> None:
    # Each line's 0.5 rounds up to 1; rounding the order's 1.0 once would give 1.
    order = place_order(
        [a_line("a", unit_price=5, tax_rate_bp=1000), a_line("b", unit_price=5, tax_rate_bp=1000)]
    )

    assert order.tax_total == 2
    assert order.total == 12


def test_an_order_without_shipping_has_no_shipping_total() -> None:
    order = place_order([a_line(unit_price=1000, tax_rate_bp=0)])

    assert order.shipping is None
    assert order.shipping_total == 0
    assert order.total == 1000


def test_a_placed_order_records_who_what_and_when() -> None:
    order = place_order(payment_intent_id="pi_42")

    assert new_event_types(order) == ["Placed"]
    assert order.status == PLACED
    assert order.placed_at == NOW
    assert order.editable_until == NOW + GRACE
    assert order.placed_by == "customer:ada"
    assert order.payment_intent_id == "pi_42"
    assert order.is_editable(NOW)


def test_the_order_id_follows_from_the_payment_intent() -> None:
    first, again = place_order(payment_intent_id="pi_1"), place_order(payment_intent_id="pi_1")
    other = place_order(payment_intent_id="pi_2")

    assert first.id == again.id == order_id_for("pi_1") == Order.id_for("pi_1")
    assert other.id != first.id


def test_an_order_needs_at_least_one_line() -> None:
    with pytest.raises(OrderStateConflict):
        place_order([])


def test_an_order_has_at_most_a_hundred_lines() -> None:
    place_order([a_line(f"l{i}") for i in range(MAX_LINES)])
    with pytest.raises(OrderStateConflict):
        place_order([a_line(f"l{i}") for i in range(MAX_LINES + 1)])


@pytest.mark.parametrize("quantity", [0, -1, 1000, True, False, 1.0, "1", None])
def test_placing_a_line_with_a_bad_quantity_is_refused(quantity: object) -> None:
    with pytest.raises(InvalidQuantity):
        place_order([a_line(quantity=quantity)])  # type: ignore[arg-type]


@pytest.mark.parametrize("quantity", [1, 999])
def test_quantities_from_one_to_999_are_accepted(quantity: int) -> None:
    assert place_order([a_line(quantity=quantity)]).line("line_1").quantity == quantity


@pytest.mark.parametrize(
    "line",
    [
        a_line(unit_price=-1),
        a_line(unit_price=10.0),  # type: ignore[arg-type]
        a_line(tax_rate_bp=-1),
        a_line(tax_rate_bp=10_001),
        a_line(tax_rate_bp=20.0),  # type: ignore[arg-type]
    ],
)
def test_a_line_with_a_bad_price_or_rate_is_refused(line: Line) -> None:
    with pytest.raises(InvalidMoney):
        place_order([line])


@pytest.mark.parametrize("shipping", [a_shipping(-1), a_shipping(100, tax_rate_bp=10_001)])
def test_a_bad_shipping_price_or_rate_is_refused(shipping: Shipping) -> None:
    with pytest.raises(InvalidMoney):
        place_order(shipping=shipping)


def test_an_order_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        place_order(currency="xyz")


def test_two_lines_with_the_same_id_are_refused() -> None:
    with pytest.raises(OrderStateConflict):
        place_order([a_line("a", unit_price=1000), a_line("a", unit_price=500)])


# --- changes in the grace period ------------------------------------------------------


def test_a_line_can_be_added_during_the_grace_period() -> None:
    order = place_order([a_line("a", unit_price=1000, tax_rate_bp=0)])

    order.add_line(
        a_line("b", unit_price=250, quantity=2, tax_rate_bp=0),
        changed_by="staff:bo",
        now=later(minutes=5),
    )

    assert list(order.lines) == ["a", "b"]
    assert order.total == 1500
    added = order.pending_events[-1]
    assert isinstance(added, Order.LineItemAdded)
    assert added.changed_by == "staff:bo"
    assert added.timestamp == later(minutes=5)


def test_a_line_id_cannot_be_added_twice() -> None:
    order = place_order([a_line("a")])
    with pytest.raises(OrderStateConflict):
        order.add_line(a_line("a"), changed_by="staff:bo", now=NOW)


def test_a_line_cannot_be_added_beyond_a_hundred() -> None:
    order = place_order([a_line(f"l{i}") for i in range(MAX_LINES)])
    with pytest.raises(OrderStateConflict):
        order.add_line(a_line("one_more"), changed_by="staff:bo", now=NOW)


@pytest.mark.parametrize("quantity", [0, -1, 1000, True, 2.0])
def test_adding_a_line_with_a_bad_quantity_is_refused(quantity: object) -> None:
    order = place_order()
    with pytest.raises(InvalidQuantity):
        order.add_line(a_line("b", quantity=quantity), changed_by="staff:bo", now=NOW)  # type: ignore[arg-type]


def test_a_line_quantity_can_be_changed() -> None:
    order = place_order([a_line("a", unit_price=1000, tax_rate_bp=2000)])

    order.change_quantity("a", 3, changed_by="customer:ada", now=later(minutes=1))

    assert order.line("a").quantity == 3
    assert order.total == 3600
    assert new_event_types(order) == ["Placed", "LineItemQuantityChanged"]


def test_setting_the_same_quantity_records_nothing() -> None:
    order = place_order([a_line("a", quantity=2)])
    order.change_quantity("a", 2, changed_by="customer:ada", now=NOW)
    assert new_event_types(order) == ["Placed"]


@pytest.mark.parametrize("quantity", [-1, 1000, True, 2.5, "2", None])
def test_changing_to_a_bad_quantity_is_refused(quantity: object) -> None:
    order = place_order([a_line("a"), a_line("b")])
    with pytest.raises(InvalidQuantity):
        order.change_quantity("a", quantity, changed_by="customer:ada", now=NOW)  # type: ignore[arg-type]
    assert new_event_types(order) == ["Placed"]


def test_a_boolean_quantity_does_not_remove_a_line() -> None:
    order = place_order([a_line("a"), a_line("b")])
    with pytest.raises(InvalidQuantity):
        order.change_quantity("a", False, changed_by="customer:ada", now=NOW)


def test_quantity_zero_removes_a_line() -> None:
    order = place_order([a_line("a", unit_price=1000), a_line("b", unit_price=300)])

    order.change_quantity("a", 0, changed_by="customer:ada", now=NOW)

    assert list(order.lines) == ["b"]
    assert order.subtotal == 300
    assert new_event_types(order) == ["Placed", "LineItemRemoved"]


def test_the_last_line_cannot_be_removed() -> None:
    order = place_order([a_line("a")])
    with pytest.raises(OrderStateConflict, match="cancel"):
        order.change_quantity("a", 0, changed_by="customer:ada", now=NOW)
    assert list(order.lines) == ["a"]


def test_changing_an_unknown_line_is_refused() -> None:
    order = place_order()
    with pytest.raises(UnknownLineItem):
        order.change_quantity("nope", 2, changed_by="customer:ada", now=NOW)
    with pytest.raises(UnknownLineItem):
        order.change_quantity("nope", 0, changed_by="customer:ada", now=NOW)
    with pytest.raises(UnknownLineItem):
        order.line("nope")


def test_an_order_is_editable_until_just_before_its_grace_period_ends() -> None:
    order = place_order()
    just_before = NOW + GRACE - timedelta(microseconds=1)

    order.change_quantity("line_1", 2, changed_by="customer:ada", now=just_before)

    assert order.is_editable(just_before)
    assert not order.is_editable(NOW + GRACE)


@pytest.mark.parametrize("when", [NOW + GRACE, NOW + GRACE + timedelta(days=1)])
def test_an_order_cannot_change_at_or_after_the_end_of_its_grace_period(when: datetime) -> None:
    order = place_order([a_line("a"), a_line("b")])
    for change in _changes():
        with pytest.raises(OrderNotEditable, match="grace period"):
            change(order, when)
    assert new_event_types(order) == ["Placed"]


def test_a_captured_order_cannot_change() -> None:
    order = place_order([a_line("a"), a_line("b")])
    order.mark_captured(order.total, now=NOW)
    for change in _changes():
        with pytest.raises(OrderNotEditable, match="captured"):
            change(order, NOW)
    assert not order.is_editable(NOW)


def test_a_canceled_order_cannot_change() -> None:
    order = place_order([a_line("a"), a_line("b")])
    order.cancel("customer asked", canceled_by="customer:ada", now=NOW)
    for change in _changes():
        with pytest.raises(OrderNotEditable, match="canceled"):
            change(order, NOW)
    assert not order.is_editable(NOW)


def _changes() -> list[Callable[[Order, datetime], None]]:
    return [
        lambda order, now: order.add_line(a_line("c"), changed_by="x", now=now),
        lambda order, now: order.change_quantity("a", 5, changed_by="x", now=now),
        lambda order, now: order.change_quantity("a", 0, changed_by="x", now=now),
    ]


# --- outcome --------------------------------------------------------------------------


def test_capturing_an_order_marks_it_captured_once() -> None:
    order = place_order()

    order.mark_captured(order.total, now=later(hours=1))
    order.mark_captured(order.total, now=later(hours=2))

    assert order.status == CAPTURED
    assert new_event_types(order) == ["Placed", "Captured"]


def test_canceling_an_order_twice_records_one_cancellation() -> None:
    order = place_order()

    order.cancel("out of stock", canceled_by="staff:bo", now=NOW)
    order.cancel("again", canceled_by="staff:bo", now=NOW)

    assert order.status == CANCELED
    assert new_event_types(order) == ["Placed", "Canceled"]
    canceled = order.pending_events[-1]
    assert isinstance(canceled, Order.Canceled)
    assert (canceled.reason, canceled.canceled_by) == ("out of stock", "staff:bo")


def test_a_canceled_order_cannot_be_captured() -> None:
    order = place_order()
    order.cancel("customer asked", canceled_by="customer:ada", now=NOW)
    with pytest.raises(OrderStateConflict):
        order.mark_captured(order.total, now=NOW)
    assert order.status == CANCELED


def test_a_captured_order_cannot_be_canceled() -> None:
    order = place_order()
    order.mark_captured(order.total, now=NOW)
    with pytest.raises(OrderStateConflict):
        order.cancel("too late", canceled_by="customer:ada", now=NOW)
    assert order.status == CAPTURED


def test_replaying_an_orders_events_rebuilds_it() -> None:
    order = place_order([a_line("a"), a_line("b")], shipping=a_shipping(495, 2000))
    order.add_line(a_line("c", quantity=4), changed_by="x", now=later(minutes=1))
    order.change_quantity("a", 7, changed_by="x", now=later(minutes=2))
    order.change_quantity("b", 0, changed_by="x", now=later(minutes=3))
    order.mark_captured(order.total, now=later(hours=2))

    rebuilt = replay(order.pending_events)

    assert state(rebuilt) == state(order)
    assert rebuilt.total == order.total


# --- property -------------------------------------------------------------------------

line_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10**7),  # unit price
        st.integers(min_value=1, max_value=999),  # quantity
        st.integers(min_value=0, max_value=10_000),  # tax rate
    ),
    min_size=1,
    max_size=20,
)
shipping_specs = st.none() | st.tuples(
    st.integers(min_value=0, max_value=10**5), st.integers(min_value=0, max_value=10_000)
)


@given(specs=line_specs, shipping_spec=shipping_specs)
def test_the_total_is_lines_plus_their_tax_plus_shipping_plus_its_tax(
    specs: list[tuple[int, int, int]], shipping_spec: tuple[int, int] | None
) -> None:
    lines = [
        a_line(f"l{i}", unit_price=price, quantity=qty, tax_rate_bp=rate)
        for i, (price, qty, rate) in enumerate(specs)
    ]
    shipping = a_shipping(*shipping_spec) if shipping_spec else None

    order = place_order(lines, shipping=shipping)

    expected = sum(price * qty + tax_on(price * qty, rate) for price, qty, rate in specs)
    if shipping_spec:
        expected += shipping_spec[0] + tax_on(*shipping_spec)
    assert order.total == expected
    assert order.subtotal + order.shipping_total + order.tax_total == expected


def test_an_order_takes_at_most_its_cap_of_changes() -> None:
    order = place_order([a_line("a", quantity=1)])
    while order.version < MAX_ORDER_CHANGES:
        order.change_quantity("a", 1 + order.version % 2 + 1, changed_by="c", now=NOW)
    with pytest.raises(TooManyChanges):
        order.change_quantity("a", 9, changed_by="c", now=NOW)
    with pytest.raises(TooManyChanges):
        order.add_line(a_line("b"), changed_by="c", now=NOW)
    order.cancel("too many changes", canceled_by="staff", now=NOW)  # never capped
