"""The Ledger on PostgreSQL: every event type round-trips, saves are atomic, races retry."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from commands.ledger import ConcurrentChange, Ledger, retry_on_conflict
from domain.cart import Cart
from domain.errors import InsufficientStock
from domain.inventory_level import InventoryLevel
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection
from domain.review import Review
from infra.database import event_store_env
from tests.unit.domain.builders import (
    NOW,
    a_line,
    a_shipping,
    later,
    place_order,
    start_cart,
    state,
)

pytestmark = [pytest.mark.embedded_ok, pytest.mark.integration]

AGGREGATES: list[type[Aggregate]] = [Order, PaymentCollection, InventoryLevel, Cart, Review]


def declared_event_types(aggregate: type[Aggregate]) -> set[type[Aggregate.Event]]:
    """The event classes written in ``aggregate``'s class body.

    eventsourcing adds its own nested classes to every aggregate (a base ``Event``,
    and a ``Created`` where the aggregate names its creation event differently);
    those are never triggered, so only the classes declared in the source count.
    """
    source = textwrap.dedent(inspect.getsource(aggregate))
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    declared = {node.name for node in body.body if isinstance(node, ast.ClassDef)}
    return {
        value
        for name, value in vars(aggregate).items()
        if name in declared
        and isinstance(value, type)
        and issubclass(value, (Aggregate.Event, Aggregate.Created))
    }


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(env=event_store_env(database_url))
    try:
        yield ledger
    finally:
        ledger.close()


def unique(prefix: str) -> str:
    # The session database is shared by the tests: ids must not collide.
    return f"{prefix}_{uuid4().hex[:12]}"


def stock(stocked: int = 10, *, allow_backorder: bool = False) -> InventoryLevel:
    return InventoryLevel.stock(
        item_id=unique("iitem"),
        location_id="loc_main",
        stocked_quantity=stocked,
        allow_backorder=allow_backorder,
        now=NOW,
    )


def reserve(level: InventoryLevel, quantity: int) -> None:
    level.reserve(quantity, order_id="order_1", line_id="line_1", now=later(minutes=1))


# --- every event type round-trips -----------------------------------------------------


def aggregates_emitting_every_event_type() -> list[Aggregate]:
    """Aggregates whose pending events, between them, include every declared type."""
    cart = start_cart()
    cart.add_line(line_id="l1", variant_id="v1", quantity=1, now=NOW)
    cart.add_line(line_id="l2", variant_id="v2", quantity=2, now=NOW)
    cart.change_quantity("l1", 3, now=NOW)
    cart.change_quantity("l2", 0, now=NOW)
    cart.choose_shipping("so_standard", now=NOW)
    cart.change_details(
        email="grace@example.com",
        shipping_address={"first_name": "Grace", "country_code": "de"},
        billing_address={"first_name": "Grace", "city": "Berlin"},
        now=NOW,
    )
    cart.start_payment_session("pi_x", 4200, status="requires_payment_method", now=NOW)
    cart.see_payment("pi_x", status="requires_capture", amount=4200, now=NOW)
    cart.complete(order_id="order_x", payment_intent_id="pi_x", now=later(minutes=1))

    captured_order = place_order(
        [a_line("a", unit_price=1999, quantity=2), a_line("b", unit_price=500)],
        shipping=a_shipping(495, tax_rate_bp=2000),
        payment_intent_id=unique("pi"),
    )
    captured_order.hand_out_token(to="storefront", now=later(minutes=1))
    captured_order.add_line(a_line("c", quantity=3), changed_by="staff:bo", now=later(minutes=2))
    captured_order.change_quantity("a", 5, changed_by="customer:ada", now=later(minutes=3))
    captured_order.change_quantity("b", 0, changed_by="customer:ada", now=later(minutes=4))
    captured_order.record_change(0, changed_by="customer:ada", now=later(minutes=4))
    captured_order.mark_captured(captured_order.total, now=later(hours=2))

    canceled_order = place_order(payment_intent_id=unique("pi"), shipping=None)
    canceled_order.cancel("customer asked", canceled_by="customer:ada", now=later(minutes=5))

    payment = PaymentCollection.open(
        order_id=captured_order.id,
        amount=Money(2500, "eur"),
        payment_intent_id=captured_order.payment_intent_id,
        now=NOW,
    )
    payment.authorize(2500, reference="ch_1", capture_before=later(days=7), now=later(minutes=1))
    payment.increase_authorization(4000, reference="ch_2", now=later(minutes=2))
    payment.add_supplementary_authorization("pi_second", 500, now=later(minutes=2))
    payment.change_amount(4200, now=later(minutes=3))
    payment.schedule_capture(later(hours=1), now=later(minutes=3))
    payment.record_capture_failure("card_declined", final=False, now=later(hours=1))
    payment.capture(4200, reference="ch_3", now=later(hours=1, minutes=5))
    payment.refund(700, reference="re_1", reason="damaged", now=later(days=2))

    voided = PaymentCollection.open(
        order_id=canceled_order.id,
        amount=Money(1200, "eur"),
        payment_intent_id=canceled_order.payment_intent_id,
        now=NOW,
    )
    voided.authorize(1200, reference="ch_4", capture_before=None, now=later(minutes=1))
    voided.void(reference="pi_void", reason="order canceled", now=later(minutes=6))

    level = stock(2, allow_backorder=True)
    reserve(level, 5)
    level.record_backorder(
        shortfall=3, order_id="order_1", reservation_version=level.version, now=later(minutes=1)
    )
    level.release(1, order_id="order_1", line_id="line_1", now=later(minutes=2))
    level.adjust(10, reason="delivery", adjusted_by="staff:bo", now=later(minutes=3))
    level.set_backorder_policy(False, now=later(minutes=4))

    verified_review = Review.submit(
        product_id="tee",
        rating=5,
        title="Soft <b>and</b> warm",
        body="Line one\nline two",
        author_name="Ada",
        order_id=captured_order.id,
        fresh_id=uuid4(),
        now=later(days=3),
    )
    verified_review.approve(moderated_by="admin-key:k1", now=later(days=4))
    verified_review.reassess(still_bought=False, reason="order canceled", now=later(days=5))
    anonymous_review = Review.submit(
        product_id="tee",
        rating=1,
        title="",
        body="",
        author_name="Bo",
        order_id=None,
        fresh_id=uuid4(),
        now=later(days=3),
    )
    anonymous_review.reject(reason="spam", moderated_by="admin-key:k1", now=later(days=4))

    return [
        cart,
        captured_order,
        canceled_order,
        payment,
        voided,
        level,
        verified_review,
        anonymous_review,
    ]


def test_the_aggregates_declare_the_event_types_we_expect_to_find() -> None:
    # Guards the introspection itself: it must neither miss events nor invent any.
    names = {event.__qualname__ for event in declared_event_types(Order)}
    assert names == {
        "Order.Placed",
        "Order.LineItemAdded",
        "Order.LineItemQuantityChanged",
        "Order.LineItemRemoved",
        "Order.Changed",
        "Order.Captured",
        "Order.Canceled",
        "Order.AccessTokenHandedOut",
    }
    assert PaymentCollection.Created in declared_event_types(PaymentCollection)


def test_every_event_type_round_trips_through_the_store(ledger: Ledger) -> None:
    aggregates = aggregates_emitting_every_event_type()
    originals = [event for aggregate in aggregates for event in aggregate.pending_events]
    exercised = {type(event) for event in originals}
    declared = set().union(*(declared_event_types(kind) for kind in AGGREGATES))
    missing = sorted(event.__qualname__ for event in declared - exercised)
    assert not missing, f"no test scenario emits {missing}: extend the scenario"

    head = ledger.head
    position = ledger.save_all(*aggregates)

    assert position == ledger.head == head + len(originals)
    for aggregate in aggregates:
        reloaded: Aggregate = ledger.repository.get(aggregate.id)
        assert type(reloaded) is type(aggregate)
        assert state(reloaded) == state(aggregate)
    # The notification log pages by 10; the recorder reads the whole stretch at once.
    notifications = ledger.recorder.select_notifications(start=head + 1, limit=1000)
    recorded = [ledger.mapper.to_domain_event(n) for n in notifications]
    assert [type(event) for event in recorded] == [type(event) for event in originals]
    assert recorded == originals


def test_a_reloaded_aggregate_keeps_deciding_like_the_original(ledger: Ledger) -> None:
    order = place_order([a_line("a"), a_line("b")], payment_intent_id=unique("pi"))
    ledger.save_all(order)

    reloaded: Order = ledger.repository.get(order.id)
    reloaded.change_quantity("a", 4, changed_by="customer:ada", now=later(minutes=1))
    ledger.save_all(reloaded)

    assert ledger.repository.get(order.id).line("a").quantity == 4
    assert ledger.get_or_none(order.id, Order) is not None
    assert ledger.get_or_none(order.id, Cart) is None
    assert ledger.get_or_none(uuid4(), Order) is None


# --- atomic saves ---------------------------------------------------------------------


def test_a_save_of_several_aggregates_is_all_or_nothing(ledger: Ledger) -> None:
    order = place_order([a_line("a"), a_line("b")], payment_intent_id=unique("pi"))
    level = stock(10)
    ledger.save_all(order, level)
    order_changes: Order = ledger.repository.get(order.id)
    stale_level: InventoryLevel = ledger.repository.get(level.id)
    rival_level: InventoryLevel = ledger.repository.get(level.id)
    reserve(rival_level, 4)
    ledger.save_all(rival_level)
    head = ledger.head

    order_changes.change_quantity("a", 2, changed_by="customer:ada", now=later(minutes=1))
    reserve(stale_level, 1)
    with pytest.raises(IntegrityError):
        ledger.save_all(order_changes, stale_level)

    stored_order: Order = ledger.repository.get(order.id)
    stored_level: InventoryLevel = ledger.repository.get(level.id)
    assert (stored_order.version, stored_order.line("a").quantity) == (order.version, 1)
    assert (stored_level.version, stored_level.reserved) == (rival_level.version, 4)
    assert ledger.head == head
    assert ledger.recorder.select_notifications(start=head + 1, limit=10) == []


def test_saving_nothing_new_returns_no_position(ledger: Ledger) -> None:
    level = stock(3)
    ledger.save_all(level)
    assert ledger.save_all(ledger.repository.get(level.id), None) is None


# --- retrying lost races --------------------------------------------------------------


def test_a_command_that_lost_a_race_is_run_again_and_succeeds(ledger: Ledger) -> None:
    level_id = saved_level(ledger, stocked=10)
    attempts = 0

    def reserve_one() -> int | None:
        nonlocal attempts
        attempts += 1
        level: InventoryLevel = ledger.repository.get(level_id)
        if attempts == 1:
            rival_reserves(ledger, level_id, 2)
        reserve(level, 1)
        return ledger.save_all(level)

    position = retry_on_conflict(reserve_one)

    assert attempts == 2
    assert position == ledger.head
    assert ledger.repository.get(level_id).reserved == 3


def test_a_command_that_keeps_losing_gives_up_with_concurrent_change(ledger: Ledger) -> None:
    level_id = saved_level(ledger, stocked=100)
    attempts = 0

    def always_overtaken() -> int | None:
        nonlocal attempts
        attempts += 1
        level: InventoryLevel = ledger.repository.get(level_id)
        rival_reserves(ledger, level_id, 2)
        reserve(level, 1)
        return ledger.save_all(level)

    with pytest.raises(ConcurrentChange) as raised:
        retry_on_conflict(always_overtaken, attempts=3)

    assert attempts == 3
    assert isinstance(raised.value.__cause__, IntegrityError)
    assert ledger.repository.get(level_id).reserved == 3 * 2


def test_a_refused_command_is_not_retried(ledger: Ledger) -> None:
    level_id = saved_level(ledger, stocked=1)
    attempts = 0

    def reserve_too_many() -> int | None:
        nonlocal attempts
        attempts += 1
        level: InventoryLevel = ledger.repository.get(level_id)
        reserve(level, 5)
        return ledger.save_all(level)

    with pytest.raises(InsufficientStock):
        retry_on_conflict(reserve_too_many)
    assert attempts == 1


def saved_level(ledger: Ledger, stocked: int) -> UUID:
    level = stock(stocked)
    ledger.save_all(level)
    return level.id


def rival_reserves(ledger: Ledger, level_id: UUID, quantity: int) -> Any:
    """Another writer reserves from the same level and saves first."""
    rival: InventoryLevel = ledger.repository.get(level_id)
    reserve(rival, quantity)
    return ledger.save_all(rival)
