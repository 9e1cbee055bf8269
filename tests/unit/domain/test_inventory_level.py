"""The InventoryLevel: reservations never overdraw stock unless backorders are allowed."""

import pytest

from domain.errors import (
    InsufficientStock,
    InvalidInventoryChange,
    InvalidQuantity,
    ReleaseExceedsReserved,
)
from domain.ids import inventory_level_id_for
from domain.inventory_level import MAX_STOCK, InventoryLevel
from tests.unit.domain.builders import NOW, new_event_types, replay, state, stock_level


def reserve(level: InventoryLevel, quantity: object, line_id: str = "line_1") -> None:
    level.reserve(quantity, order_id="order_1", line_id=line_id, now=NOW)  # type: ignore[arg-type]


def release(level: InventoryLevel, quantity: object) -> None:
    level.release(quantity, order_id="order_1", line_id="line_1", now=NOW)  # type: ignore[arg-type]


# --- stocking -------------------------------------------------------------------------


def test_a_level_is_stocked_for_one_item_at_one_location() -> None:
    level = stock_level(10)

    assert level.id == inventory_level_id_for("iitem_1", "loc_main")
    assert (level.stocked, level.reserved, level.available) == (10, 0, 10)
    assert not level.allow_backorder


@pytest.mark.parametrize("stocked", [-1, MAX_STOCK + 1, True, 1.0, "5"])
def test_a_bad_stocked_quantity_is_refused(stocked: object) -> None:
    with pytest.raises(InvalidQuantity):
        stock_level(stocked)  # type: ignore[arg-type]


@pytest.mark.parametrize("stocked", [0, MAX_STOCK])
def test_stock_from_zero_to_the_maximum_is_accepted(stocked: int) -> None:
    assert stock_level(stocked).stocked == stocked


# --- reserving and releasing ----------------------------------------------------------


def test_reserving_stock_lowers_what_is_available() -> None:
    level = stock_level(10)

    reserve(level, 3)
    reserve(level, 7, line_id="line_2")

    assert (level.stocked, level.reserved, level.available) == (10, 10, 0)
    assert new_event_types(level) == ["Created", "StockReserved", "StockReserved"]


def test_reserving_more_than_is_available_is_refused() -> None:
    level = stock_level(10)
    reserve(level, 8)

    with pytest.raises(InsufficientStock, match="Only 2"):
        reserve(level, 3)

    assert level.reserved == 8
    assert not level.can_reserve(3)


def test_backorders_allow_reserving_beyond_the_stock() -> None:
    level = stock_level(2, allow_backorder=True)

    reserve(level, 5)

    assert level.available == -3
    assert level.can_reserve(1000)


@pytest.mark.parametrize("quantity", [0, -1, MAX_STOCK + 1, True, 1.0, None])
def test_a_reservation_must_be_a_positive_whole_number(quantity: object) -> None:
    level = stock_level(10, allow_backorder=True)
    with pytest.raises(InvalidQuantity):
        reserve(level, quantity)
    with pytest.raises(InvalidQuantity):
        release(level, quantity)


def test_releasing_stock_makes_it_available_again() -> None:
    level = stock_level(10)
    reserve(level, 6)

    release(level, 4)

    assert (level.reserved, level.available) == (2, 8)


def test_more_than_is_reserved_cannot_be_released() -> None:
    level = stock_level(10)
    reserve(level, 2)
    with pytest.raises(ReleaseExceedsReserved):
        release(level, 3)
    assert level.reserved == 2


# --- adjusting stock ------------------------------------------------------------------


def test_stock_can_be_set_to_a_new_count() -> None:
    level = stock_level(10)

    level.set_stocked(25, reason="delivery", adjusted_by="staff:bo", now=NOW)

    assert level.stocked == 25
    adjusted = level.pending_events[-1]
    assert isinstance(adjusted, InventoryLevel.StockAdjusted)
    assert (adjusted.reason, adjusted.adjusted_by) == ("delivery", "staff:bo")


def test_setting_the_same_count_records_nothing() -> None:
    level = stock_level(10)
    level.set_stocked(10, reason="count", adjusted_by="staff:bo", now=NOW)
    assert new_event_types(level) == ["Created"]


def test_stock_cannot_fall_below_what_is_reserved_without_backorders() -> None:
    level = stock_level(10)
    reserve(level, 6)

    with pytest.raises(InvalidInventoryChange):
        level.set_stocked(5, reason="shrinkage", adjusted_by="staff:bo", now=NOW)
    with pytest.raises(InvalidInventoryChange):
        level.adjust(-5, reason="shrinkage", adjusted_by="staff:bo", now=NOW)

    level.adjust(-4, reason="shrinkage", adjusted_by="staff:bo", now=NOW)
    assert (level.stocked, level.available) == (6, 0)


def test_stock_can_fall_below_what_is_reserved_with_backorders() -> None:
    level = stock_level(10, allow_backorder=True)
    reserve(level, 6)

    level.set_stocked(2, reason="shrinkage", adjusted_by="staff:bo", now=NOW)

    assert level.available == -4


def test_an_adjustment_adds_to_the_stock() -> None:
    level = stock_level(10)
    level.adjust(5, reason="found", adjusted_by="staff:bo", now=NOW)
    level.adjust(-3, reason="lost", adjusted_by="staff:bo", now=NOW)
    assert level.stocked == 12


@pytest.mark.parametrize("delta", [1.0, True, "1", None])
def test_an_adjustment_must_be_a_whole_number(delta: object) -> None:
    with pytest.raises(InvalidQuantity):
        stock_level(10).adjust(delta, reason="x", adjusted_by="staff:bo", now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize("stocked", [-1, MAX_STOCK + 1, 2.0])
def test_stock_cannot_be_set_outside_its_range(stocked: object) -> None:
    level = stock_level(10, allow_backorder=True)
    with pytest.raises(InvalidQuantity):
        level.set_stocked(stocked, reason="x", adjusted_by="staff:bo", now=NOW)  # type: ignore[arg-type]
    with pytest.raises(InvalidQuantity):
        level.adjust(-11, reason="x", adjusted_by="staff:bo", now=NOW)


# --- backorder policy -----------------------------------------------------------------


def test_backorders_can_be_turned_on_and_off() -> None:
    level = stock_level(10)

    level.set_backorder_policy(True, now=NOW)
    level.set_backorder_policy(True, now=NOW)
    turned_on = level.allow_backorder
    level.set_backorder_policy(False, now=NOW)

    assert (turned_on, level.allow_backorder) == (True, False)
    assert new_event_types(level) == ["Created", "BackorderPolicyChanged", "BackorderPolicyChanged"]


def test_backorders_cannot_be_turned_off_while_backordered() -> None:
    level = stock_level(2, allow_backorder=True)
    reserve(level, 5)

    with pytest.raises(InvalidInventoryChange, match="backordered by 3"):
        level.set_backorder_policy(False, now=NOW)

    level.adjust(3, reason="restock", adjusted_by="staff:bo", now=NOW)
    level.set_backorder_policy(False, now=NOW)
    assert level.available == 0


# --- backorders -----------------------------------------------------------------------


def test_a_backorder_is_recorded_once_per_reservation() -> None:
    level = stock_level(2, allow_backorder=True)
    reserve(level, 5)
    reservation_version = level.version

    first = level.record_backorder(
        shortfall=3, order_id="order_1", reservation_version=reservation_version, now=NOW
    )
    second = level.record_backorder(
        shortfall=3, order_id="order_1", reservation_version=reservation_version, now=NOW
    )

    assert (first, second) == (True, False)
    assert level.backordered_reservations == {reservation_version}
    assert new_event_types(level).count("Backordered") == 1


def test_backorders_of_different_reservations_are_each_recorded() -> None:
    level = stock_level(0, allow_backorder=True)
    reserve(level, 1)
    v1 = level.version
    reserve(level, 1, line_id="line_2")
    v2 = level.version

    assert level.record_backorder(shortfall=1, order_id="o1", reservation_version=v1, now=NOW)
    assert level.record_backorder(shortfall=1, order_id="o2", reservation_version=v2, now=NOW)
    assert level.backordered_reservations == {v1, v2}


@pytest.mark.parametrize("shortfall", [0, -1])
def test_no_backorder_is_recorded_without_a_shortfall(shortfall: int) -> None:
    level = stock_level(10, allow_backorder=True)
    recorded = level.record_backorder(
        shortfall=shortfall, order_id="order_1", reservation_version=2, now=NOW
    )
    assert not recorded
    assert new_event_types(level) == ["Created"]


def test_replaying_a_levels_events_rebuilds_it() -> None:
    level = stock_level(2, allow_backorder=True)
    reserve(level, 5)
    level.record_backorder(shortfall=3, order_id="order_1", reservation_version=2, now=NOW)
    release(level, 1)
    level.adjust(10, reason="restock", adjusted_by="staff:bo", now=NOW)
    level.set_backorder_policy(False, now=NOW)

    assert state(replay(level.pending_events)) == state(level)
