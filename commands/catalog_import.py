"""Import or update the catalog (``orderledger catalog import`` and ``POST /admin/catalog``)."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.catalog import CatalogFile, CatalogStore
from commands.errors import InvalidCatalog
from commands.files.product_images import decide_gallery
from commands.ledger import Ledger, retry_on_conflict
from domain.ids import inventory_level_id_for
from domain.inventory_level import InventoryLevel
from domain.stored_file import StoredFile


@dataclass(frozen=True)
class ImportResult:
    regions: int
    stock_locations: int
    sales_channels: int
    shipping_options: int
    products: int
    variants: int
    inventory_levels: int
    position: int | None


def import_catalog(
    catalog: CatalogFile, *, ledger: Ledger, store: CatalogStore, now: datetime, by: str
) -> ImportResult:
    """Validate the whole file, upsert the reference data, then set inventory and product
    images through events."""
    _check_consistent(catalog, store)

    def attempt() -> int | None:
        # Decide every inventory change first, so a refused one leaves nothing written.
        levels = _decide_inventory(catalog, ledger, now=now, by=by)
        galleries = _decide_images(catalog, ledger, now=now, by=by)
        store.upsert(catalog)
        changed = [*levels, *galleries]
        return ledger.save_all(*changed) if changed else None

    position = retry_on_conflict(attempt)
    return ImportResult(
        regions=len(catalog.regions),
        stock_locations=len(catalog.stock_locations),
        sales_channels=len(catalog.sales_channels),
        shipping_options=len(catalog.shipping_options),
        products=len(catalog.products),
        variants=sum(len(p.variants) for p in catalog.products),
        inventory_levels=len(catalog.inventory),
        position=position,
    )


def _decide_inventory(
    catalog: CatalogFile, ledger: Ledger, *, now: datetime, by: str
) -> list[InventoryLevel]:
    levels: list[InventoryLevel] = []
    for line in catalog.inventory:
        level = ledger.get_or_none(
            inventory_level_id_for(line.variant_id, line.location_id), InventoryLevel
        )
        if level is None:
            level = InventoryLevel.stock(
                item_id=line.variant_id,
                location_id=line.location_id,
                stocked_quantity=line.stocked_quantity,
                allow_backorder=line.allow_backorder,
                now=now,
            )
        else:
            # Turn backorders on before lowering stock, and off only after raising it.
            if line.allow_backorder:
                level.set_backorder_policy(True, now=now)
            level.set_stocked(
                line.stocked_quantity, reason="catalog import", adjusted_by=by, now=now
            )
            level.set_backorder_policy(line.allow_backorder, now=now)
        levels.append(level)
    return levels


def _decide_images(
    catalog: CatalogFile, ledger: Ledger, *, now: datetime, by: str
) -> list[Aggregate]:
    # Every image of every product checked before the catalog is written.
    galleries: list[Aggregate] = []
    loaded: dict[UUID, StoredFile] = {}
    for product in catalog.products:
        if product.images is not None:
            gallery, _ = decide_gallery(
                ledger, product.id, product.images, by=by, now=now, loaded=loaded
            )
            galleries.append(gallery)
    return [*galleries, *loaded.values()]


def _duplicates(ids: Iterable[str]) -> list[str]:
    return sorted(i for i, n in Counter(ids).items() if n > 1)


def _check_consistent(catalog: CatalogFile, store: CatalogStore) -> None:
    problems: list[str] = []
    sections: dict[str, list[str]] = {
        "regions": [r.id for r in catalog.regions],
        "stock_locations": [s.id for s in catalog.stock_locations],
        "sales_channels": [c.id for c in catalog.sales_channels],
        "shipping_options": [o.id for o in catalog.shipping_options],
        "products": [p.id for p in catalog.products],
        "variants": [v.id for p in catalog.products for v in p.variants],
        "inventory": [f"{i.variant_id}@{i.location_id}" for i in catalog.inventory],
    }
    for section, ids in sections.items():
        if dupes := _duplicates(ids):
            problems.append(f"{section} repeats {', '.join(dupes[:5])}")

    regions = set(sections["regions"])
    locations = set(sections["stock_locations"])
    variants = set(sections["variants"])

    def region_known(region_id: str) -> bool:
        return region_id in regions or store.region(region_id) is not None

    def location_known(location_id: str) -> bool:
        return location_id in locations or store.has_stock_location(location_id)

    def variant_known(variant_id: str) -> bool:
        return variant_id in variants or store.variant(variant_id) is not None

    for channel in catalog.sales_channels:
        for location_id in channel.stock_location_ids:
            if not location_known(location_id):
                problems.append(f"sales channel {channel.id} names unknown location {location_id}")
    for option in catalog.shipping_options:
        if not region_known(option.region_id):
            problems.append(f"shipping option {option.id} names unknown region {option.region_id}")
        if option.stock_location_id and not location_known(option.stock_location_id):
            problems.append(
                f"shipping option {option.id} names unknown location {option.stock_location_id}"
            )
    for line in catalog.inventory:
        if not variant_known(line.variant_id):
            problems.append(f"inventory names unknown variant {line.variant_id}")
        if not location_known(line.location_id):
            problems.append(f"inventory names unknown location {line.location_id}")
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise InvalidCatalog(f"The catalog is inconsistent: {shown}{more}.")
