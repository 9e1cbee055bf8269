"""One inventory item (a variant) at one stock location."""

from datetime import datetime
from typing import Final

from eventsourcing.domain import Aggregate

from domain.errors import (
    InsufficientStock,
    InvalidInventoryChange,
    InvalidQuantity,
    ReleaseExceedsReserved,
)
from domain.ids import inventory_level_id_for

MAX_STOCK: Final = 10**9


class InventoryLevel(Aggregate):
    """Holds: reserved >= 0; available = stocked - reserved >= 0 unless backorders are allowed."""

    class Created(Aggregate.Created):
        item_id: str
        location_id: str
        stocked_quantity: int
        allow_backorder: bool

    class StockReserved(Aggregate.Event):
        quantity: int
        order_id: str
        line_id: str
        # Units this reservation took beyond the stock (it went short: a backorder);
        # None on reservations recorded before the field existed.
        shortfall: int | None = None

        def apply(self, level: "InventoryLevel") -> None:
            level.reserved += self.quantity

    class StockReleased(Aggregate.Event):
        quantity: int
        order_id: str
        line_id: str

        def apply(self, level: "InventoryLevel") -> None:
            level.reserved -= self.quantity

    class StockAdjusted(Aggregate.Event):
        stocked_quantity: int
        reason: str
        adjusted_by: str

        def apply(self, level: "InventoryLevel") -> None:
            level.stocked = self.stocked_quantity

    class BackorderPolicyChanged(Aggregate.Event):
        allow_backorder: bool

        def apply(self, level: "InventoryLevel") -> None:
            level.allow_backorder = self.allow_backorder

    class Backordered(Aggregate.Event):
        shortfall: int
        order_id: str
        reservation_version: int

        def apply(self, level: "InventoryLevel") -> None:
            level.backordered_reservations.add(self.reservation_version)

    def __init__(
        self, item_id: str, location_id: str, stocked_quantity: int, allow_backorder: bool
    ) -> None:
        self.item_id = item_id
        self.location_id = location_id
        self.stocked = stocked_quantity
        self.reserved = 0
        self.allow_backorder = allow_backorder
        self.backordered_reservations: set[int] = set()

    @classmethod
    def stock(
        cls,
        *,
        item_id: str,
        location_id: str,
        stocked_quantity: int,
        allow_backorder: bool,
        now: datetime,
    ) -> "InventoryLevel":
        _check_stock(stocked_quantity)
        return cls._create(
            cls.Created,
            id=inventory_level_id_for(item_id, location_id),
            timestamp=now,
            item_id=item_id,
            location_id=location_id,
            stocked_quantity=stocked_quantity,
            allow_backorder=allow_backorder,
        )

    @property
    def available(self) -> int:
        """Units that can still be promised; negative only while backordered."""
        return self.stocked - self.reserved

    def can_reserve(self, quantity: int) -> bool:
        return self.allow_backorder or quantity <= self.available

    def reserve(self, quantity: int, *, order_id: str, line_id: str, now: datetime) -> None:
        _check_units(quantity)
        if not self.can_reserve(quantity):
            raise InsufficientStock(
                f"Only {max(self.available, 0)} of {self.item_id} available at "
                f"{self.location_id}; {quantity} requested."
            )
        self.trigger_event(
            self.StockReserved,
            timestamp=now,
            quantity=quantity,
            order_id=order_id,
            line_id=line_id,
            shortfall=shortfall_of(self.available, quantity),
        )

    def release(self, quantity: int, *, order_id: str, line_id: str, now: datetime) -> None:
        _check_units(quantity)
        if quantity > self.reserved:
            raise ReleaseExceedsReserved(
                f"Cannot release {quantity} of {self.item_id}; only {self.reserved} reserved."
            )
        self.trigger_event(
            self.StockReleased, timestamp=now, quantity=quantity, order_id=order_id, line_id=line_id
        )

    def set_stocked(
        self, stocked_quantity: int, *, reason: str, adjusted_by: str, now: datetime
    ) -> None:
        _check_stock(stocked_quantity)
        if not self.allow_backorder and stocked_quantity < self.reserved:
            raise InvalidInventoryChange(
                f"{self.reserved} units of {self.item_id} are reserved at {self.location_id}; "
                f"stock cannot be set to {stocked_quantity} without backorders."
            )
        if stocked_quantity != self.stocked:
            self.trigger_event(
                self.StockAdjusted,
                timestamp=now,
                stocked_quantity=stocked_quantity,
                reason=reason,
                adjusted_by=adjusted_by,
            )

    def adjust(self, delta: int, *, reason: str, adjusted_by: str, now: datetime) -> None:
        if type(delta) is not int:
            raise InvalidQuantity("An adjustment is a whole number of units.")
        self.set_stocked(self.stocked + delta, reason=reason, adjusted_by=adjusted_by, now=now)

    def set_backorder_policy(self, allow_backorder: bool, *, now: datetime) -> None:
        if allow_backorder == self.allow_backorder:
            return
        if not allow_backorder and self.available < 0:
            raise InvalidInventoryChange(
                f"{self.item_id} at {self.location_id} is backordered by {-self.available}; "
                "restock before turning backorders off."
            )
        self.trigger_event(
            self.BackorderPolicyChanged, timestamp=now, allow_backorder=allow_backorder
        )

    def record_backorder(
        self, *, shortfall: int, order_id: str, reservation_version: int, now: datetime
    ) -> bool:
        """Record the shortfall a reservation caused, once per reservation; True if recorded."""
        if reservation_version in self.backordered_reservations or shortfall <= 0:
            return False
        self.trigger_event(
            self.Backordered,
            timestamp=now,
            shortfall=shortfall,
            order_id=order_id,
            reservation_version=reservation_version,
        )
        return True


def _check_units(quantity: int) -> None:
    if type(quantity) is not int or not 1 <= quantity <= MAX_STOCK:
        raise InvalidQuantity("A quantity of stock is a positive whole number.")


def _check_stock(quantity: int) -> None:
    if type(quantity) is not int or not 0 <= quantity <= MAX_STOCK:
        raise InvalidQuantity(f"Stocked quantity must be a whole number from 0 to {MAX_STOCK}.")


def shortfall_of(available: int, quantity: int) -> int:
    """How many of ``quantity`` units reserved from ``available`` are not in stock."""
    return max(quantity - available, 0) - max(-available, 0)
