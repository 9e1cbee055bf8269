"""Stock per variant per location: stocked, reserved, available (negative when backordered)."""

from typing import Any

from domain.inventory_level import InventoryLevel
from projections.base import Event, Row, RowProjector, Table

INVENTORY_LEVELS = Table(
    "inventory_levels",
    {
        "level_id": "uuid",
        "variant_id": "text",
        "location_id": "text",
        "stocked": "bigint",
        "reserved": "bigint",
        "available": "bigint",
        "allow_backorder": "boolean",
        "backordered": "bigint",
        "updated_at": "timestamptz",
    },
    indexes=("(variant_id, location_id)",),
)


class InventoryAvailabilityProjector(RowProjector):
    name = "inventory_levels"
    tables = (INVENTORY_LEVELS,)
    topics = (
        InventoryLevel.Created,
        InventoryLevel.StockReserved,
        InventoryLevel.StockReleased,
        InventoryLevel.StockAdjusted,
        InventoryLevel.BackorderPolicyChanged,
        InventoryLevel.Backordered,
    )

    def key_of(self, event: Event) -> Any | None:
        return event.originator_id

    def apply(self, event: Event, row: Row | None) -> Row | None:
        if isinstance(event, InventoryLevel.Created):
            row = {
                "level_id": event.originator_id,
                "variant_id": event.item_id,
                "location_id": event.location_id,
                "stocked": event.stocked_quantity,
                "reserved": 0,
                "allow_backorder": event.allow_backorder,
                "backordered": 0,
            }
        elif row is None:
            return None
        else:
            row = dict(row)
            if isinstance(event, InventoryLevel.StockReserved):
                row["reserved"] += event.quantity
            elif isinstance(event, InventoryLevel.StockReleased):
                row["reserved"] -= event.quantity
            elif isinstance(event, InventoryLevel.StockAdjusted):
                row["stocked"] = event.stocked_quantity
            elif isinstance(event, InventoryLevel.BackorderPolicyChanged):
                row["allow_backorder"] = event.allow_backorder
            elif isinstance(event, InventoryLevel.Backordered):
                row["backordered"] += event.shortfall
        row["available"] = row["stocked"] - row["reserved"]
        row["updated_at"] = event.timestamp
        return row
