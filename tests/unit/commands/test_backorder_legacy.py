"""The process manager's shortfall for reservations stored before they carried it.

Given a reservation recorded without ``shortfall`` (an old event), When the process
manager asks what it took beyond the stock, Then the level as that reservation left it
answers the same as the field does on new reservations.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.ledger import Ledger
from commands.process_manager import _shortfall_from_history
from domain.inventory_level import InventoryLevel
from tests.unit.domain.builders import NOW, stock_level


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
        old = object.__new__(type(event))
        object.__setattr__(
            old, "__dict__", {k: v for k, v in vars(event).items() if k != "shortfall"}
        )
        assert old.shortfall is None  # as an old event loads
        assert _shortfall_from_history(ledger, old) == event.shortfall
