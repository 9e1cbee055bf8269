"""Every shortfall a backorder-enabled level took on, for the shop to restock."""

from collections.abc import Sequence
from typing import Any

from domain.inventory_level import InventoryLevel
from projections.base import Event, Row, RowProjector, Table, ViewStore

BACKORDERS = Table(
    "backorders",
    {
        "id": "text",  # "<level id>:<reservation version>": one per shortfall
        "level_id": "uuid",
        "variant_id": "text",
        "location_id": "text",
        "order_id": "text",
        "shortfall": "bigint",
        "recorded_at": "timestamptz",
    },
    indexes=("(recorded_at DESC)",),
)

LEVELS = Table("levels", {"level_id": "uuid", "variant_id": "text", "location_id": "text"})


class BackordersProjector(RowProjector):
    name = "backorders"
    tables = (BACKORDERS, LEVELS)
    topics = (InventoryLevel.Created, InventoryLevel.Backordered)

    def __init__(self) -> None:
        self._levels: dict[Any, Row] = {}

    def prepare(self, events: Sequence[Event], store: ViewStore) -> None:
        created = [e for e in events if isinstance(e, InventoryLevel.Created)]
        rows = [
            {"level_id": e.originator_id, "variant_id": e.item_id, "location_id": e.location_id}
            for e in created
        ]
        if rows:
            store.upsert(LEVELS.name, rows)
        wanted = {e.originator_id for e in events if isinstance(e, InventoryLevel.Backordered)}
        self._levels = dict(store.fetch(LEVELS.name, wanted - {r["level_id"] for r in rows}))
        self._levels.update({r["level_id"]: r for r in rows})

    def key_of(self, event: Event) -> Any | None:
        if isinstance(event, InventoryLevel.Backordered):
            return f"{event.originator_id}:{event.reservation_version}"
        return None

    def apply(self, event: Event, row: Row | None) -> Row | None:
        if not isinstance(event, InventoryLevel.Backordered):
            return row
        level = self._levels.get(event.originator_id, {})
        return {
            "id": f"{event.originator_id}:{event.reservation_version}",
            "level_id": event.originator_id,
            "variant_id": level.get("variant_id"),
            "location_id": level.get("location_id"),
            "order_id": event.order_id,
            "shortfall": event.shortfall,
            "recorded_at": event.timestamp,
        }
