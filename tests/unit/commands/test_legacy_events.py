"""The process manager's facts for events stored before they carried them.

Given a reservation recorded without ``shortfall``, or a line removal recorded without
``variant_id`` (old events), When the process manager asks, Then the aggregate's history
answers the same as the field does on new events.
"""

from typing import TypeVar

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.ledger import Ledger
from commands.process_manager import _removed_variant_from_history, _shortfall_from_history
from domain.inventory_level import InventoryLevel
from domain.order import Order
from tests.unit.domain.builders import NOW, a_line, later, place_order, stock_level

E = TypeVar("E")


@settings(max_examples=25, deadline=None)
@given(
    stocked=st.integers(min_value=0, max_value=5),
    quantities=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=4),
    backorder=st.booleans(),
)
def test_history_and_field_agree(stocked: int, quantities: list[int], backorder: bool) -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    level = stock_level(stocked, allow_backorder=backorder)
    reservations = []
    for n, quantity in enumerate(quantities):
        if not level.can_reserve(quantity):
            break
        level.reserve(quantity, order_id=f"o{n}", line_id="l", now=NOW)
        reservations.append(level.pending_events[-1])
    ledger.save_all(level)
    for event in reservations:
        assert isinstance(event, InventoryLevel.StockReserved)
        old = _as_recorded_before(event, "shortfall")
        assert old.shortfall is None  # as an old event loads
        assert _shortfall_from_history(ledger, old) == event.shortfall


def _as_recorded_before(event: E, field: str) -> E:
    """``event`` as an event stored before ``field`` existed loads: the class default."""
    old = object.__new__(type(event))
    object.__setattr__(old, "__dict__", {k: v for k, v in vars(event).items() if k != field})
    return old


@settings(max_examples=15, deadline=None)
@given(lines=st.integers(min_value=2, max_value=5), data=st.data())
def test_removed_variant_history_and_field_agree(lines: int, data: st.DataObject) -> None:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    order = place_order([a_line(f"line_{n}", variant_id=f"v{n}") for n in range(lines)])
    removals = data.draw(st.integers(min_value=1, max_value=lines - 1))
    for n in data.draw(st.permutations(range(lines)))[:removals]:
        order.change_quantity(f"line_{n}", 0, changed_by="admin:ops", now=later(minutes=1))
    removed = [e for e in order.pending_events if isinstance(e, Order.LineItemRemoved)]
    ledger.save_all(order)
    assert len(removed) == removals
    for event in removed:
        old = _as_recorded_before(event, "variant_id")
        assert old.variant_id is None  # as an old event loads
        assert _removed_variant_from_history(ledger, old) == event.variant_id
