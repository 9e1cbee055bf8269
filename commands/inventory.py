"""Setting stock by hand: a count, an adjustment, the backorder policy."""

from dataclasses import dataclass

from commands.catalog import CatalogStore
from commands.errors import InvalidRequest, UnknownVariant
from commands.ledger import retry_on_conflict
from commands.services import Services
from domain.ids import inventory_level_id_for
from domain.inventory_level import InventoryLevel


class UnknownStockLocation(InvalidRequest):
    pass


class NothingToChange(InvalidRequest):
    """The request names no change."""


@dataclass(frozen=True)
class LevelChange:
    level: InventoryLevel
    position: int | None


def update_inventory_level(
    services: Services,
    *,
    variant_id: str,
    location_id: str,
    stocked_quantity: int | None,
    adjustment: int | None,
    allow_backorder: bool | None,
    by: str,
) -> LevelChange:
    """Set or adjust the stocked quantity and the backorder policy of one level (made if new)."""
    if stocked_quantity is None and adjustment is None and allow_backorder is None:
        raise NothingToChange("Name stocked_quantity, adjustment or allow_backorder.")
    if stocked_quantity is not None and adjustment is not None:
        raise InvalidRequest("Give stocked_quantity or adjustment, not both.")
    _check_known(services.catalog, variant_id, location_id)

    def attempt() -> LevelChange:
        now = services.clock()
        level = services.ledger.get_or_none(
            inventory_level_id_for(variant_id, location_id), InventoryLevel
        )
        if level is None:
            level = InventoryLevel.stock(
                item_id=variant_id,
                location_id=location_id,
                stocked_quantity=max(stocked_quantity or 0, 0) if adjustment is None else 0,
                allow_backorder=bool(allow_backorder),
                now=now,
            )
        # Backorders on before stock goes down, off only after it went up.
        if allow_backorder:
            level.set_backorder_policy(True, now=now)
        if stocked_quantity is not None:
            level.set_stocked(stocked_quantity, reason="set by admin", adjusted_by=by, now=now)
        if adjustment is not None:
            level.adjust(adjustment, reason="adjusted by admin", adjusted_by=by, now=now)
        if allow_backorder is False:
            level.set_backorder_policy(False, now=now)
        return LevelChange(level, services.ledger.save_all(level))

    return retry_on_conflict(attempt)


def _check_known(catalog: CatalogStore, variant_id: str, location_id: str) -> None:
    if catalog.variant(variant_id) is None:
        raise UnknownVariant(f"There is no variant {variant_id!r}.")
    if not catalog.has_stock_location(location_id):
        raise UnknownStockLocation(f"There is no stock location {location_id!r}.")
