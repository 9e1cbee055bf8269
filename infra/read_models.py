"""Queries over the views and the catalog tables (adapter for ``queries.ports.ReadModels``)."""

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from uuid import UUID

from psycopg.rows import dict_row

from infra.pg import Pool
from infra.projection_registry import VIEWS_POSITION, wait_for_position
from infra.projection_runtime import ProjectionRuntime
from infra.read_replicas import wait_on
from infra.schema import SCHEMA
from infra.view_store import VIEWS

if TYPE_CHECKING:
    from infra.standby_reads import StandbyReads

Row = dict[str, Any]


class PostgresReadModels:
    def __init__(
        self, pool: Pool, runtime: ProjectionRuntime, standbys: "StandbyReads | None" = None
    ) -> None:
        self._pool = pool
        self._runtime = runtime
        self._standbys = standbys  # READ_DATABASE_URL: a standby first (infra.read_replicas)

    def _all(self, query: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        if self._standbys is not None:
            rows = self._standbys.all(query, params)
            if rows is not None:
                return rows
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, params)
            return cur.fetchall()

    def close(self) -> None:
        if self._standbys is not None:
            self._standbys.close()

    def wait_for(self, position: int, views: Sequence[str], timeout: float = 2.0) -> bool:
        if self._standbys is None:
            return wait_for_position(self._pool, position, views, timeout)

        def look() -> int | None:  # on the standby the next read goes to (or the primary)
            rows = self._all(VIEWS_POSITION, (list(views),))
            return int(rows[0]["position"]) if rows else None

        return wait_on(look, position, timeout, time.sleep)

    def admin_orders(self, *, status: str | None, limit: int, offset: int) -> tuple[list[Row], int]:
        where, params = ("WHERE status = %s", [status]) if status else ("", [])
        rows = self._all(
            f"SELECT * FROM {VIEWS}.admin_orders {where} "
            "ORDER BY placed_at DESC, order_id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        count = self._all(f"SELECT count(*) AS n FROM {VIEWS}.admin_orders {where}", params)
        return rows, int(count[0]["n"])

    def admin_order(self, order_id: UUID) -> Row | None:
        rows = self._all(f"SELECT * FROM {VIEWS}.admin_orders WHERE order_id = %s", (order_id,))
        return rows[0] if rows else None

    def order_transactions(self, order_id: UUID) -> list[Row]:
        return self._all(
            f"SELECT * FROM {VIEWS}.order_transactions WHERE order_id = %s ORDER BY created_at, id",
            (order_id,),
        )

    def inventory_levels(self, variant_id: str | None) -> list[Row]:
        if variant_id:
            return self._all(
                f"SELECT * FROM {VIEWS}.inventory_levels WHERE variant_id = %s ORDER BY location_id",
                (variant_id,),
            )
        return self._all(
            f"SELECT * FROM {VIEWS}.inventory_levels ORDER BY variant_id, location_id LIMIT 1000"
        )

    def products(self, *, limit: int, offset: int) -> list[Row]:
        products = self._all(
            f"SELECT id, title FROM {SCHEMA}.products ORDER BY id LIMIT %s OFFSET %s",
            (limit, offset),
        )
        return self._with_variants(products)

    def product(self, product_id: str) -> Row | None:
        products = self._all(
            f"SELECT id, title FROM {SCHEMA}.products WHERE id = %s", (product_id,)
        )
        return self._with_variants(products)[0] if products else None

    def _with_variants(self, products: list[Row]) -> list[Row]:
        if not products:
            return []
        variants = self._all(
            f"SELECT id, product_id, sku, title, prices FROM {SCHEMA}.variants "
            "WHERE product_id = ANY(%s) ORDER BY id",
            ([p["id"] for p in products],),
        )
        by_product: dict[str, list[Row]] = defaultdict(list)
        for variant in variants:
            by_product[variant["product_id"]].append(variant)
        return [{**p, "variants": by_product[p["id"]]} for p in products]

    def availability(
        self, variant_ids: Sequence[str], sales_channel_id: str | None
    ) -> dict[str, int]:
        if not variant_ids:
            return {}
        if sales_channel_id is None:
            rows = self._all(
                f"SELECT variant_id, sum(greatest(available, 0)) AS n FROM {VIEWS}.inventory_levels "
                "WHERE variant_id = ANY(%s) GROUP BY variant_id",
                (list(variant_ids),),
            )
        else:
            rows = self._all(
                f"SELECT l.variant_id, sum(greatest(l.available, 0)) AS n FROM {VIEWS}.inventory_levels l "
                f"JOIN {SCHEMA}.sales_channels c ON l.location_id = ANY(c.stock_location_ids) "
                "WHERE c.id = %s AND l.variant_id = ANY(%s) GROUP BY l.variant_id",
                (sales_channel_id, list(variant_ids)),
            )
        return {row["variant_id"]: int(row["n"]) for row in rows}

    def authorizations_near_expiry(self, within_hours: int) -> list[Row]:
        return self._all(
            f"SELECT order_id, payment_intent_id, currency, amount, authorized_at, due_at, status, "
            "lapses_at "
            f"FROM {VIEWS}.capture_schedule WHERE status IN ('pending', 'scheduled', 'failed') "
            "AND authorized_at IS NOT NULL "
            "AND lapses_at <= now() + make_interval(hours => %s) "
            "ORDER BY lapses_at LIMIT 500",
            (within_hours,),
        )

    def backorders(self, *, limit: int, offset: int) -> list[Row]:
        return self._all(
            f"SELECT * FROM {VIEWS}.backorders ORDER BY recorded_at DESC, id LIMIT %s OFFSET %s",
            (limit, offset),
        )

    def projections(self) -> list[Row]:
        return [asdict(status) for status in self._runtime.status()]

    def reviews(
        self, *, product_id: str | None, status: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        where, params = _where(product_id=product_id, status=status)
        rows = self._all(
            f"SELECT * FROM {VIEWS}.reviews {where} "
            "ORDER BY submitted_at DESC, review_id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        count = self._all(f"SELECT count(*) AS n FROM {VIEWS}.reviews {where}", params)
        return rows, int(count[0]["n"])

    def rating_distribution(self, product_id: str) -> dict[int, int]:
        rows = self._all(
            f"SELECT rating, count(*) AS n FROM {VIEWS}.reviews "
            "WHERE product_id = %s AND status = 'approved' GROUP BY rating",
            (product_id,),
        )
        return {int(row["rating"]): int(row["n"]) for row in rows}

    def notifications(
        self, *, status: str | None, order_id: UUID | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        where, params = _where(status=status, order_id=order_id)
        rows = self._all(
            "SELECT id, notification_id, kind, recipient, subject, order_id, status, attempts, "
            "last_error, message_id, idempotency_key, next_attempt_at, created_at, updated_at, "
            f"sent_at FROM {SCHEMA}.notifications {where} "
            "ORDER BY notification_id DESC, id LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        count = self._all(f"SELECT count(*) AS n FROM {SCHEMA}.notifications {where}", params)
        return rows, int(count[0]["n"])


def _where(**equal: Any) -> tuple[str, list[Any]]:
    """``WHERE a = %s AND …`` over the arguments that are not None (names are ours)."""
    given = {column: value for column, value in equal.items() if value is not None}
    if not given:
        return "", []
    return "WHERE " + " AND ".join(f"{column} = %s" for column in given), list(given.values())
