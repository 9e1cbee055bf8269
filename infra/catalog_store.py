"""The catalog in Postgres tables (adapter for ``commands.catalog.CatalogStore``)."""

from collections.abc import Collection
from typing import Any

from psycopg.types.json import Jsonb

from commands.catalog import (
    CatalogFile,
    CatalogSlice,
    Region,
    SalesChannel,
    ShippingOption,
    Variant,
)
from infra.pg import Pool
from infra.schema import SCHEMA

REGIONS = (
    f"SELECT id, currency, tax_rate_bp, tax_shipping, countries FROM {SCHEMA}.regions WHERE id = %s"
)
SALES_CHANNELS = f"SELECT id, stock_location_ids, public FROM {SCHEMA}.sales_channels WHERE id = %s"
SHIPPING_OPTIONS = (
    f"SELECT id, region_id, name, amount, stock_location_id "
    f"FROM {SCHEMA}.shipping_options WHERE id = %s"
)
VARIANTS = (
    f"SELECT v.id, v.product_id, v.sku, p.title || ' / ' || v.title, v.prices, "
    f"p.tax_rate_bp, p.requires_shipping FROM {SCHEMA}.variants v JOIN {SCHEMA}.products p "
    f"ON p.id = v.product_id WHERE v.id = ANY(%s)"
)


def _sales_channel(row: Any) -> SalesChannel:
    return SalesChannel(row[0], tuple(row[1]), row[2])


def _region(row: Any) -> Region:
    countries = row[4]
    return Region(
        id=row[0],
        currency=row[1],
        tax_rate_bp=row[2],
        tax_shipping=row[3],
        countries=tuple(countries) if countries is not None else None,
    )


class PostgresCatalog:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def region(self, region_id: str) -> Region | None:
        row = self._one(REGIONS, region_id)
        return _region(row) if row else None

    def sales_channel(self, sales_channel_id: str) -> SalesChannel | None:
        row = self._one(SALES_CHANNELS, sales_channel_id)
        return _sales_channel(row) if row else None

    def shipping_option(self, shipping_option_id: str) -> ShippingOption | None:
        row = self._one(SHIPPING_OPTIONS, shipping_option_id)
        return ShippingOption(*row) if row else None

    def variant(self, variant_id: str) -> Variant | None:
        row = self._one(VARIANTS, [variant_id])
        return Variant(*row) if row else None

    def for_cart(
        self,
        *,
        region_id: str,
        sales_channel_id: str,
        shipping_option_id: str | None,
        variant_ids: Collection[str],
    ) -> CatalogSlice:
        """The four lookups sent together in one pipeline: one round trip, one snapshot each."""
        with self._pool.connection() as conn:
            with conn.pipeline():
                regions = conn.execute(REGIONS, (region_id,))
                channels = conn.execute(SALES_CHANNELS, (sales_channel_id,))
                options = (
                    conn.execute(SHIPPING_OPTIONS, (shipping_option_id,))
                    if shipping_option_id is not None
                    else None
                )
                variants = conn.execute(VARIANTS, (list(dict.fromkeys(variant_ids)),))
            return CatalogSlice(
                regions={row[0]: _region(row) for row in regions.fetchall()},
                sales_channels={row[0]: _sales_channel(row) for row in channels.fetchall()},
                shipping_options=(
                    {row[0]: ShippingOption(*row) for row in options.fetchall()}
                    if options is not None
                    else {}
                ),
                variants={row[0]: Variant(*row) for row in variants.fetchall()},
            )

    def has_stock_location(self, location_id: str) -> bool:
        return (
            self._one(f"SELECT 1 FROM {SCHEMA}.stock_locations WHERE id = %s", location_id)
            is not None
        )

    def upsert(self, catalog: CatalogFile) -> None:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {SCHEMA}.regions (id, currency, tax_rate_bp, tax_shipping, countries) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE "
                "SET currency = EXCLUDED.currency, tax_rate_bp = EXCLUDED.tax_rate_bp, "
                "tax_shipping = EXCLUDED.tax_shipping, countries = EXCLUDED.countries",
                [
                    (
                        r.id,
                        r.currency,
                        r.tax_rate_bp,
                        r.tax_shipping,
                        sorted({c.lower() for c in r.countries}) if r.countries else None,
                    )
                    for r in catalog.regions
                ],
            )
            cur.executemany(
                f"INSERT INTO {SCHEMA}.stock_locations VALUES (%s, %s) "
                "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                [(s.id, s.name) for s in catalog.stock_locations],
            )
            cur.executemany(
                f"INSERT INTO {SCHEMA}.sales_channels (id, stock_location_ids, public) "
                "VALUES (%s, %s, %s) ON CONFLICT (id) DO UPDATE "
                "SET stock_location_ids = EXCLUDED.stock_location_ids, public = EXCLUDED.public",
                [(c.id, list(c.stock_location_ids), c.public) for c in catalog.sales_channels],
            )
            cur.executemany(
                f"INSERT INTO {SCHEMA}.shipping_options VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET region_id = EXCLUDED.region_id, "
                "name = EXCLUDED.name, amount = EXCLUDED.amount, "
                "stock_location_id = EXCLUDED.stock_location_id",
                [
                    (o.id, o.region_id, o.name, o.amount, o.stock_location_id)
                    for o in catalog.shipping_options
                ],
            )
            cur.executemany(
                f"INSERT INTO {SCHEMA}.products (id, title, tax_rate_bp, requires_shipping) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE "
                "SET title = EXCLUDED.title, tax_rate_bp = EXCLUDED.tax_rate_bp, "
                "requires_shipping = EXCLUDED.requires_shipping",
                [(p.id, p.title, p.tax_rate_bp, p.requires_shipping) for p in catalog.products],
            )
            cur.executemany(
                f"INSERT INTO {SCHEMA}.variants VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) "
                "DO UPDATE SET product_id = EXCLUDED.product_id, sku = EXCLUDED.sku, "
                "title = EXCLUDED.title, prices = EXCLUDED.prices",
                [
                    (v.id, p.id, v.sku, v.title, Jsonb(v.prices))
                    for p in catalog.products
                    for v in p.variants
                ],
            )

    def _one(self, query: str, *params: object) -> Any:
        with self._pool.connection() as conn:
            return conn.execute(query, params).fetchone()
