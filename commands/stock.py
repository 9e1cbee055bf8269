"""Where each line's stock comes from, and reserving or releasing it.

The shipping option's stock location when it names one, else the sales channel's
locations in priority order: the first that can take the whole line (with
backorders allowed, a level can always take it). No mapped location is an error,
never an arbitrary fallback.
"""

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from commands.catalog import CatalogLookup, ShippingOption
from commands.errors import NoStockLocation, UnknownSalesChannel
from commands.ledger import Ledger
from domain.errors import InsufficientStock
from domain.ids import inventory_level_id_for
from domain.inventory_level import InventoryLevel
from domain.lines import Line
from domain.order import Order


class Levels:
    """The inventory levels one command touches, each loaded once."""

    def __init__(self, ledger: Ledger, *, held: bool = False) -> None:
        """``held``: as this process holds them where it does (``Ledger.get_cached``)."""
        self._ledger = ledger
        self._held = held
        self._levels: dict[tuple[str, str], InventoryLevel | None] = {}

    def get(self, variant_id: str, location_id: str) -> InventoryLevel | None:
        key = (variant_id, location_id)
        if key not in self._levels:
            self._levels[key] = self._ledger.get_or_none(
                inventory_level_id_for(variant_id, location_id), InventoryLevel
            )
        return self._levels[key]

    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
        """Load the levels of these (variant, location) pairs together, in one read."""
        wanted = {key: inventory_level_id_for(*key) for key in keys if key not in self._levels}
        ids = list(wanted.values())
        read = self._ledger.get_cached(*ids) if self._held else self._ledger.get_all(*ids)
        found = {i: a for i, a in read.items() if isinstance(a, InventoryLevel)}
        for key, level_id in wanted.items():
            self._levels[key] = found.get(level_id)

    def first_stocked(self, variant_id: str, locations: list[str]) -> str | None:
        """The first of ``locations`` with a level for the variant (as loaded)."""
        return next((loc for loc in locations if self.get(variant_id, loc) is not None), None)

    def touched(self) -> list[InventoryLevel]:
        return [
            level for level in self._levels.values() if level is not None and level.pending_events
        ]


def candidate_locations(
    catalog: CatalogLookup, sales_channel_id: str, shipping_option: ShippingOption | None
) -> list[str]:
    if shipping_option is not None and shipping_option.stock_location_id:
        return [shipping_option.stock_location_id]
    channel = catalog.sales_channel(sales_channel_id)
    if channel is None:
        raise UnknownSalesChannel(f"There is no sales channel {sales_channel_id!r}.")
    return list(channel.stock_location_ids)


def reserve_line(
    levels: Levels, line: Line, locations: list[str], *, order_id: str, now: datetime
) -> Line:
    """Reserve the line's quantity at the first location that can take it."""
    stocked = [(loc, level) for loc in locations if (level := levels.get(line.variant_id, loc))]
    if not stocked:
        raise NoStockLocation(
            f"{line.variant_id} is not stocked at any location that serves this order "
            f"({', '.join(locations) or 'none mapped'})."
        )
    for location_id, level in stocked:
        if level.can_reserve(line.quantity):
            level.reserve(line.quantity, order_id=order_id, line_id=line.id, now=now)
            return replace(line, location_id=location_id)
    available = sum(max(level.available, 0) for _, level in stocked)
    raise InsufficientStock(
        f"Only {available} of {line.variant_id} available; {line.quantity} requested."
    )


def release_line(
    levels: Levels, line: Line, quantity: int, *, order_id: str, now: datetime
) -> None:
    level = levels.get(line.variant_id, line.location_id)
    if level is None:  # pragma: no cover - an order's line always names an existing level
        raise NoStockLocation(f"{line.variant_id} has no level at {line.location_id}.")
    level.release(quantity, order_id=order_id, line_id=line.id, now=now)


def release_order(levels: Levels, order: Order, *, now: datetime) -> None:
    """Give back everything the order holds (it was canceled or its payment voided)."""
    for line in order.lines.values():
        release_line(levels, line, line.quantity, order_id=str(order.id), now=now)
