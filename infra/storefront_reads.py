"""The storefront's busiest reads on an asyncio connection pool (``queries.ports.StorefrontReads``).

A sync FastAPI endpoint runs in the thread pool: a hop there and back on every
request that cost more server CPU than the query (bench-reads). These reads await
PostgreSQL on the event loop instead; the pool's checks, timeouts and errors are the
sync pool's, so an outage still answers 503.
"""

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from psycopg import AsyncConnection, OperationalError
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from infra.database import conninfo
from infra.deadline import bound_by_request_deadline
from infra.pg import AsyncCheckUnlessRecent, plan_once
from infra.projection_registry import FIRST_WAIT, LONGEST_WAIT, VIEWS_POSITION
from infra.schema import SCHEMA
from infra.view_store import VIEWS

if TYPE_CHECKING:
    from infra.standby_reads import AsyncStandbyReads

Row = dict[str, Any]

# What the storefront's order summary shows, no more (the shipping and payment
# documents are parsed only where they are shown).
BY_PAYMENT_INTENT = (
    "SELECT order_id, status, payment_status, currency, items, subtotal, shipping_total, "
    "tax_total, total, placed_at, editable_until "
    f"FROM {VIEWS}.storefront_orders WHERE payment_intent_id = %s"
)

# A product page in one statement: the product, its variants (ordered by id), the
# units available per variant, over the channel's locations or, without one, all,
# and its images as the gallery keeps them (``queries.images.images_from``).
# Summed per variant through the (variant_id, location_id) index: a join of all
# levels with the product's variants made the planner scan every level per request.
PRODUCT_ON_SALE = f"""
SELECT p.id, p.title,
  coalesce((SELECT json_agg(json_build_object(
                'id', v.id, 'product_id', v.product_id, 'sku', v.sku, 'title', v.title,
                'prices', v.prices) ORDER BY v.id)
            FROM {SCHEMA}.variants v WHERE v.product_id = p.id), '[]'::json) AS variants,
  coalesce((SELECT json_object_agg(v.id, a.n)
            FROM {SCHEMA}.variants v CROSS JOIN LATERAL (
                SELECT sum(greatest(l.available, 0)) AS n
                FROM {VIEWS}.inventory_levels l
                WHERE l.variant_id = v.id
                  AND (%(channel)s::text IS NULL OR EXISTS (
                      SELECT 1 FROM {SCHEMA}.sales_channels c
                      WHERE c.id = %(channel)s::text AND l.location_id = ANY(c.stock_location_ids)))
                ) a
            WHERE v.product_id = p.id AND a.n IS NOT NULL), '{{}}'::json) AS available,
  (SELECT g.images FROM {VIEWS}.product_images g WHERE g.product_id = p.id) AS images
FROM {SCHEMA}.products p WHERE p.id = %(product)s
"""


class AsyncStorefrontReads:
    def __init__(
        self,
        pool: "AsyncConnectionPool[AsyncConnection[DictRow]]",
        standbys: "AsyncStandbyReads | None" = None,
    ) -> None:
        self._pool = pool
        self.standbys = standbys  # READ_DATABASE_URL: a standby first (infra.read_replicas)

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        max_size: int = 10,
        standbys: "AsyncStandbyReads | None" = None,
    ) -> "AsyncStorefrontReads":
        pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            conninfo(database_url),
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=10.0,
            kwargs={"autocommit": True, "row_factory": dict_row},
            check=AsyncCheckUnlessRecent(),
            configure=plan_once,
        )
        await pool.open(wait=True, timeout=30.0)
        bound_by_request_deadline(pool)
        if standbys is not None:
            await standbys.open()
        return cls(pool, standbys)

    async def close(self) -> None:
        if self.standbys is not None:
            await self.standbys.close()
        await self._pool.close()

    async def _all(
        self, query: str, params: Sequence[Any] | Mapping[str, Any], *, again: bool = True
    ) -> list[Row]:
        if self.standbys is not None and again:
            rows = await self.standbys.all(query, params)
            if rows is not None:
                return rows
        return await self._primary(query, params, again=again)

    async def primary_rows(
        self, query: str, params: Sequence[Any] | Mapping[str, Any]
    ) -> list[Row]:
        """A read of the primary whatever the standbys (the event store's, say)."""
        return await self._primary(query, params)

    async def _primary(
        self, query: str, params: Sequence[Any] | Mapping[str, Any], *, again: bool = True
    ) -> list[Row]:
        async with self._pool.connection() as conn:
            try:
                cursor = await conn.execute(query, params)
                return await cursor.fetchall()
            except OperationalError:
                if not (again and conn.broken):
                    raise  # a timeout, or the server still away: 503
        # The server dropped this connection since its last check (the pool checks those
        # that have not answered for a second); the pool discards it on its return, and a
        # read can be asked again, once, on another.
        return await self._primary(query, params, again=False)

    async def rows(self, query: str, params: Sequence[Any] | Mapping[str, Any]) -> list[Row]:
        """Any read of ours on this pool (the reads by id and the views' positions)."""
        return await self._all(query, params)

    async def wait_for(self, position: int, views: Sequence[str], timeout: float = 2.0) -> bool:
        deadline = time.monotonic() + timeout
        delay = FIRST_WAIT
        while True:
            rows = await self._all(VIEWS_POSITION, (list(views),))
            if rows and int(rows[0]["position"]) >= position:
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, LONGEST_WAIT)

    async def order_by_payment_intent(self, payment_intent_id: str) -> Row | None:
        rows = await self._all(BY_PAYMENT_INTENT, (payment_intent_id,))
        return rows[0] if rows else None

    async def product_on_sale(
        self, product_id: str, sales_channel_id: str | None
    ) -> tuple[Row, dict[str, int]] | None:
        page = await self.product_page(product_id, sales_channel_id)
        return None if page is None else (page[0], page[1])

    async def product_page(
        self, product_id: str, sales_channel_id: str | None
    ) -> tuple[Row, dict[str, int], list[Row]] | None:
        rows = await self._all(
            PRODUCT_ON_SALE, {"product": product_id, "channel": sales_channel_id}
        )
        if not rows:
            return None
        row = rows[0]
        available = {variant: int(n) for variant, n in row.pop("available").items()}
        images = row.pop("images") or []
        return row, available, images
