"""A reservation records its shortfall when it goes short (the process manager reads it).

Given a level, When stock is reserved, Then ``StockReserved.shortfall`` is what the
level as the reservation left it says; old reservations (no field) still load.
"""

from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from commands.ledger import Ledger
from domain.inventory_level import InventoryLevel, shortfall_of
from tests.unit.domain.builders import NOW, stock_level


def _reserved(level: InventoryLevel) -> Any:
    [event] = [e for e in level.collect_events() if isinstance(e, InventoryLevel.StockReserved)]
    return event


@given(
    stocked=st.integers(min_value=0, max_value=20),
    held=st.integers(min_value=0, max_value=30),
    quantity=st.integers(min_value=1, max_value=30),
)
def test_the_shortfall_is_what_the_history_says(stocked: int, held: int, quantity: int) -> None:
    level = stock_level(stocked, allow_backorder=True)
    if held:
        level.reserve(held, order_id="o0", line_id="l0", now=NOW)
    level.collect_events()
    level.reserve(quantity, order_id="o1", line_id="l1", now=NOW)
    event = _reserved(level)
    # As the process manager computed it from the level the reservation left behind.
    after, before = level.available, level.available + quantity
    assert event.shortfall == max(-after, 0) - max(-before, 0)
    assert event.shortfall == shortfall_of(before, quantity) >= 0


def test_a_reservation_within_stock_has_no_shortfall() -> None:
    level = stock_level(5)
    level.reserve(5, order_id="o1", line_id="l1", now=NOW)
    assert _reserved(level).shortfall == 0


def test_the_field_round_trips_and_an_old_reservation_still_loads() -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    mapper: Any = ledger.mapper
    level = stock_level(1, allow_backorder=True)
    level.collect_events()
    level.reserve(3, order_id="o1", line_id="l1", now=NOW)
    event = _reserved(level)
    stored = mapper.to_stored_event(event)
    assert mapper.to_domain_event(stored).shortfall == 2
    state = mapper.transcoder.decode(stored.state)
    del state["shortfall"]  # as reservations were stored before the field
    old = replace(stored, state=mapper.transcoder.encode(state))
    loaded = mapper.to_domain_event(old)
    assert loaded.shortfall is None and loaded.quantity == 3
