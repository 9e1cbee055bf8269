"""Busy inventory levels, carts and orders are snapshotted: loading one stays cheap and
equals the full replay."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from commands.ledger import Ledger
from domain.inventory_level import InventoryLevel
from infra.database import event_store_env
from tests.unit.domain.builders import (
    NOW,
    a_line,
    a_shipping,
    authorized_collection,
    place_order,
    start_cart,
)

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(env=event_store_env(database_url))
    try:
        yield ledger
    finally:
        ledger.close()


def test_a_level_with_hundreds_of_reservations_loads_from_a_snapshot_equal_to_its_replay(
    ledger: Ledger,
) -> None:
    level = InventoryLevel.stock(
        item_id=f"v-{uuid4().hex[:6]}",
        location_id="berlin",
        # Never short, so a running process manager (other tests' servers share this
        # database) has nothing to record on it; the test records shortfalls itself.
        stocked_quantity=1_000,
        allow_backorder=True,
        now=NOW,
    )
    ledger.save_all(level)
    for i in range(230):
        level = ledger.repository.get(level.id)
        level.reserve(1, order_id=f"o{i}", line_id="l", now=NOW)
        if i % 50 == 0:
            level.record_backorder(
                shortfall=1, order_id=f"o{i}", reservation_version=level.version, now=NOW
            )
        ledger.save_all(level)
    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(level.id))
    interval = Ledger.snapshotting_intervals[InventoryLevel]
    assert 2 <= interval <= 100
    assert [s.originator_version for s in snapshots] == list(
        range(interval, level.version + 1, interval)
    )
    loaded = ledger.repository.get(level.id)
    assert vars(loaded) == vars(level)
    assert loaded.backordered_reservations and isinstance(loaded.backordered_reservations, set)
    # A past version (the process manager reads them) comes out right across a snapshot.
    earlier = ledger.repository.get(level.id, version=150)
    assert earlier.version == 150
    assert earlier.reserved == sum(1 for _ in range(150)) - 1 - sum(
        1 for v in level.backordered_reservations if v < 150
    )


def test_a_long_lived_cart_loads_from_a_snapshot_equal_to_its_replay(ledger: Ledger) -> None:
    cart = start_cart()
    cart.add_line(line_id="l1", variant_id="v1", quantity=1, now=NOW)
    cart.start_payment_session("pi_1", 2500, status="requires_payment_method", now=NOW)
    cart.start_payment_session("pi_2", 2600, status="requires_payment_method", now=NOW)
    for i in range(120):
        cart.change_quantity("l1", 2 + i % 2, now=NOW)
    ledger.save_all(cart)

    assert ledger.snapshots is not None
    versions = [s.originator_version for s in ledger.snapshots.get(cart.id)]
    assert versions == [50, 100]
    loaded = ledger.repository.get(cart.id)
    assert vars(loaded) == vars(cart)
    assert loaded.payment_intent_ids == ["pi_1", "pi_2"]


def test_a_long_lived_order_loads_from_a_snapshot_equal_to_its_replay(ledger: Ledger) -> None:
    order = place_order(
        [a_line("a", quantity=1), a_line("b", quantity=2)],
        shipping=a_shipping(495, 2000),
        payment_intent_id=f"pi_{uuid4().hex}",
    )
    for i in range(60):
        order.change_quantity("a", 2 + i % 2, changed_by="customer", now=NOW)
    ledger.save_all(order)

    assert ledger.snapshots is not None
    assert [s.originator_version for s in ledger.snapshots.get(order.id)] == [50]
    loaded = ledger.repository.get(order.id)
    assert vars(loaded) == vars(order)
    assert loaded.total == order.total and loaded.lines["a"] == order.lines["a"]


def test_a_payment_collection_moved_by_many_order_changes_loads_from_its_snapshot(
    ledger: Ledger,
) -> None:
    payment = authorized_collection(5000)
    for i in range(70):
        payment.change_amount(4000 + i % 2 * 500, now=NOW)
    payment.capture(payment.amount, reference="ch_1", now=NOW)
    ledger.save_all(payment)

    assert ledger.snapshots is not None
    assert [s.originator_version for s in ledger.snapshots.get(payment.id)] == [50]
    loaded = ledger.repository.get(payment.id)
    assert vars(loaded) == vars(payment)
