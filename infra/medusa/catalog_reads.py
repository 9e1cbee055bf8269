"""Catalog reads of the Medusa surface: regions, products on sale in a key's channels,
shipping options of a region. Plain SQL over the catalog tables and the inventory view."""

from collections.abc import Sequence
from typing import Any

from psycopg.rows import dict_row

from commands.catalog import Region, ShippingOption
from infra.pg import Pool
from infra.schema import SCHEMA
from infra.view_store import VIEWS

Row = dict[str, Any]

REGIONS = (
    f"SELECT id, currency, tax_rate_bp, tax_shipping, count(*) OVER () AS total "
    f"FROM {SCHEMA}.regions WHERE (%(ids)s::text[] IS NULL OR id = ANY(%(ids)s)) "
    "ORDER BY id LIMIT %(limit)s OFFSET %(offset)s"
)

# A product is on sale in a channel when one of its variants has an inventory level at
# one of the channel's stock locations: the ledger can place nothing else there
# (checkout refuses a line no mapped location holds). Stock is summed over the key's
# channels' locations, never below 0 per level, as the native storefront shows it.
PRODUCTS = f"""
WITH locations AS (
  SELECT DISTINCT unnest(stock_location_ids) AS id
  FROM {SCHEMA}.sales_channels WHERE id = ANY(%(channels)s)
), stock AS (
  SELECT l.variant_id, sum(greatest(l.available, 0)) AS available,
         bool_or(l.allow_backorder) AS allow_backorder
  FROM {VIEWS}.inventory_levels l JOIN locations ON l.location_id = locations.id
  GROUP BY l.variant_id
), on_sale AS (
  SELECT p.id, p.title FROM {SCHEMA}.products p
  WHERE (%(ids)s::text[] IS NULL OR p.id = ANY(%(ids)s))
    AND EXISTS (SELECT 1 FROM {SCHEMA}.variants v JOIN stock s ON s.variant_id = v.id
                WHERE v.product_id = p.id)
)
SELECT p.id, p.title, (SELECT count(*) FROM on_sale) AS total,
  (SELECT json_agg(json_build_object(
       'id', v.id, 'sku', v.sku, 'title', v.title, 'prices', v.prices,
       'available', coalesce(s.available, 0), 'allow_backorder', coalesce(s.allow_backorder, false))
     ORDER BY v.id)
   FROM {SCHEMA}.variants v LEFT JOIN stock s ON s.variant_id = v.id
   WHERE v.product_id = p.id) AS variants
FROM on_sale p ORDER BY p.id LIMIT %(limit)s OFFSET %(offset)s
"""

SHIPPING_OPTIONS = (
    f"SELECT id, region_id, name, amount, stock_location_id FROM {SCHEMA}.shipping_options "
    "WHERE region_id = %s ORDER BY amount, id"
)


class MedusaCatalogReads:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def _all(self, query: str, params: Any) -> list[Row]:
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def regions(
        self, *, ids: Sequence[str] | None, limit: int, offset: int
    ) -> tuple[list[Region], int]:
        rows = self._all(
            REGIONS, {"ids": list(ids) if ids else None, "limit": limit, "offset": offset}
        )
        total = int(rows[0]["total"]) if rows else 0
        return [
            Region(r["id"], r["currency"], r["tax_rate_bp"], r["tax_shipping"]) for r in rows
        ], total

    def products(
        self, *, channels: Sequence[str], ids: Sequence[str] | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Products on sale in ``channels`` with their variants, each with ``available``
        (≥ 0) and ``allow_backorder`` over the channels' locations; and how many match."""
        rows = self._all(
            PRODUCTS,
            {
                "channels": list(channels),
                "ids": list(ids) if ids else None,
                "limit": limit,
                "offset": offset,
            },
        )
        total = int(rows[0]["total"]) if rows else 0
        return [{k: v for k, v in row.items() if k != "total"} for row in rows], total

    def shipping_options(self, region_id: str) -> list[ShippingOption]:
        rows = self._all(SHIPPING_OPTIONS, (region_id,))
        return [ShippingOption(**row) for row in rows]
