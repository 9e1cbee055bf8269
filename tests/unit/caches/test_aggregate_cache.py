"""The aggregate cache hands out private copies, keeps the newest, and a refused save
leaves nothing of its decision behind (issue 25)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import IntegrityError

from commands.aggregate_cache import AggregateCache
from commands.ledger import Ledger
from domain.inventory_level import InventoryLevel
from domain.order import Order
from tests.unit.domain.builders import NOW, start_cart


def a_level(stocked: int = 5) -> InventoryLevel:
    return InventoryLevel.stock(
        item_id=f"v-{uuid4().hex[:6]}",
        location_id="berlin",
        stocked_quantity=stocked,
        allow_backorder=False,
        now=NOW,
    )


def test_given_a_held_level_when_a_command_changes_its_copy_then_the_cache_is_unchanged() -> None:
    cache = AggregateCache()
    level = a_level()
    level.collect_events()
    cache.put([level])

    mine = cache.get([level.id])[level.id]
    assert isinstance(mine, InventoryLevel)
    mine.reserve(3, order_id="o", line_id="l", now=NOW)

    held = cache.get([level.id])[level.id]
    assert isinstance(held, InventoryLevel)
    assert (held.reserved, held.version, held.pending_events) == (0, 1, [])


def test_an_older_version_never_replaces_a_newer_one_and_pending_state_is_never_held() -> None:
    cache = AggregateCache()
    level = a_level()
    level.collect_events()
    old = cache.get([]) or None
    assert old is None
    cache.put([level])
    older = cache.get([level.id])[level.id]
    level.reserve(1, order_id="o", line_id="l", now=NOW)
    cache.put([level])  # pending: not held
    assert cache.get([level.id])[level.id].version == 1
    level.collect_events()
    cache.put([level])
    cache.put([older])
    assert cache.get([level.id])[level.id].version == 2


def test_orders_are_not_held_and_the_cache_is_bounded() -> None:
    cache = AggregateCache(max_entries=2)
    levels = [a_level() for _ in range(3)]
    for level in levels:
        level.collect_events()
    cache.put(levels)
    assert len(cache) == 2 and levels[0].id not in cache.get([levels[0].id])
    order = Order.__new__(Order)
    cache.put([order])
    assert len(cache) == 2


def test_given_a_save_refused_by_the_version_check_then_the_ledger_forgets_what_it_held() -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    cart = start_cart()
    ledger.save_all(cart)
    assert cart.id in ledger.get_cached(cart.id)
    # Another process changed the cart: this one's copy is one version behind.
    stale = ledger.get_cached(cart.id)[cart.id]
    moved = ledger.get_all(cart.id)[cart.id]
    moved.add_line(line_id="l1", variant_id="v1", quantity=1, now=NOW)  # type: ignore[attr-defined]
    ledger.save(moved)  # the library's own save: not written through, like another process
    stale.add_line(line_id="l2", variant_id="v2", quantity=1, now=NOW)  # type: ignore[attr-defined]

    with pytest.raises(IntegrityError):
        ledger.save_all(stale)

    assert ledger.cache.get([cart.id]) == {}
    fresh = ledger.get_cached(cart.id)[cart.id]
    assert set(fresh.lines) == {"l1"}  # type: ignore[attr-defined]


def test_a_snapshot_taken_from_the_saved_level_is_the_one_the_library_takes_from_the_store() -> (
    None
):
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    level = a_level(stocked=100)
    ledger.save_all(level)
    for i in range(24):  # the 25th version is saved by the last of these
        level.reserve(1, order_id=f"o{i}", line_id="l", now=NOW)
        ledger.save_all(level)
    assert ledger.snapshots is not None
    taken = list(ledger.snapshots.get(level.id))
    assert [s.originator_version for s in taken] == [25]

    # The library's way: the level loaded back from the store at that version.
    library = Snapshot.take(ledger.repository.get(level.id, version=25))

    assert taken[0].state == library.state  # type: ignore[attr-defined]
    assert ledger.repository.get(level.id).reserved == 24


def test_given_a_held_cart_when_a_copy_changes_its_lines_in_place_then_the_held_one_does_not() -> (
    None
):
    cache = AggregateCache()
    cart = start_cart()
    cart.add_line(line_id="l1", variant_id="v1", quantity=1, now=NOW)
    cart.collect_events()
    cache.put([cart])

    mine = cache.get([cart.id])[cart.id]
    mine.lines["l1"]["quantity"] = 7  # type: ignore[attr-defined]
    mine.add_line(line_id="l2", variant_id="v2", quantity=1, now=NOW)  # type: ignore[attr-defined]
    mine.payment_intent_ids.append("pi_x")  # type: ignore[attr-defined]

    held = cache.get([cart.id])[cart.id]
    assert held.lines == {"l1": cart.lines["l1"]} and cart.lines["l1"]["quantity"] == 1  # type: ignore[attr-defined]
    assert held.payment_intent_ids == [] and held.version == cart.version  # type: ignore[attr-defined]
    assert vars(held) == vars(cart)
