"""What each console page reads: one SQL statement per page over the views.

Each statement answers with everything its page shows (lists as JSON aggregates), so a
page costs one round trip to PostgreSQL whatever it holds; ``bench/console.py`` measures it.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row

from infra.pg import Pool
from infra.schema import SCHEMA
from infra.view_store import VIEWS

Row = dict[str, Any]
PAGE_SIZE = 25
LEVELS_PAGE = 100


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    payment_status: str | None = None
    search: str = ""
    offset: int = 0


def _json_list(query: str) -> str:
    return f"(SELECT coalesce(json_agg(x), '[]'::json) FROM ({query}) x)"


_HEAD = "(SELECT coalesce(max(notification_id), 0) FROM {events})"

_VIEW_STATUS = _json_list(
    "SELECT r.projection AS name, r.generation, t.position, t.updated_at, "
    f"greatest({_HEAD} - t.position, 0) AS lag_events, "
    "CASE WHEN t.position < " + _HEAD + " THEN extract(epoch FROM now() - t.updated_at) "
    "ELSE 0 END AS lag_seconds "
    f"FROM {VIEWS}.registry r JOIN {VIEWS}.tracking t "
    "ON t.projection = r.projection AND t.generation = r.generation ORDER BY r.projection"
)

_LAST_JOB = (
    "(SELECT row_to_json(j) FROM (SELECT id, kind, target, status, position, head, result, "
    f"started_by, started_at, finished_at FROM {SCHEMA}.console_jobs WHERE kind = %(kind)s "
    "AND status <> 'running' ORDER BY started_at DESC LIMIT 1) j)"
)

OVERVIEW = (
    "SELECT "
    + _json_list(
        "SELECT currency, count(*) AS orders, sum(total) AS total, "
        "sum(coalesce((payment->>'authorized')::bigint, 0)) AS authorized, "
        "sum(coalesce((payment->>'captured')::bigint, 0)) AS captured, "
        "sum(coalesce((payment->>'refunded')::bigint, 0)) AS refunded "
        f"FROM {VIEWS}.admin_orders WHERE placed_at >= date_trunc('day', now() AT TIME ZONE 'UTC') "
        "AT TIME ZONE 'UTC' GROUP BY currency ORDER BY currency"
    )
    + " AS today, "
    + _json_list(
        "SELECT order_id, payment_intent_id, currency, amount, due_at "
        f"FROM {VIEWS}.capture_schedule WHERE status = 'scheduled' "
        "AND due_at <= now() + interval '1 hour' ORDER BY due_at LIMIT 50"
    )
    + " AS due, "
    + _json_list(
        "SELECT order_id, payment_intent_id, currency, amount, attempts, last_error, updated_at "
        f"FROM {VIEWS}.capture_schedule WHERE status = 'failed' ORDER BY updated_at DESC LIMIT 50"
    )
    + " AS failed, "
    + _json_list(
        "SELECT variant_id, location_id, order_id, shortfall, recorded_at "
        f"FROM {VIEWS}.backorders ORDER BY recorded_at DESC LIMIT 10"
    )
    + f" AS backorders, (SELECT count(*) FROM {VIEWS}.backorders) AS backorder_count, "
    + _VIEW_STATUS
    + " AS views, "
    + f"(SELECT extract(epoch FROM now() - max(beat_at)) FROM {SCHEMA}.heartbeats "
    "WHERE name = 'worker') AS worker_age, " + _LAST_JOB + " AS last_verify"
)

ORDER = (
    f"SELECT o.*, (SELECT row_to_json(c) FROM {VIEWS}.capture_schedule c "
    "WHERE c.order_id = o.order_id) AS schedule, "
    + _json_list(
        "SELECT kind, amount, currency, reference, created_at "
        f"FROM {VIEWS}.order_transactions t WHERE t.order_id = %(order_id)s "
        "ORDER BY created_at, id"
    )
    + " AS transactions, "
    + _json_list(f"SELECT id, title, sku FROM {SCHEMA}.variants ORDER BY id LIMIT 500")
    + f" AS variants FROM {VIEWS}.admin_orders o WHERE o.order_id = %(order_id)s"
)

INVENTORY = (
    "SELECT "
    + _json_list(
        "SELECT l.variant_id, l.location_id, l.stocked, l.reserved, l.available, "
        "l.allow_backorder, v.title AS variant_title, v.sku "
        f"FROM {VIEWS}.inventory_levels l LEFT JOIN {SCHEMA}.variants v ON v.id = l.variant_id "
        "WHERE %(variant)s = '' OR l.variant_id = %(variant)s "
        "ORDER BY l.variant_id, l.location_id LIMIT %(limit)s OFFSET %(offset)s"
    )
    + " AS levels, "
    + _json_list(
        "SELECT variant_id, location_id, order_id, shortfall, recorded_at "
        f"FROM {VIEWS}.backorders ORDER BY recorded_at DESC LIMIT 100"
    )
    + " AS backorders"
)

REVIEWS = (
    "SELECT "
    + _json_list(
        "SELECT r.*, p.title AS product_title, "
        f"(SELECT rp.photos FROM {VIEWS}.review_photos rp WHERE rp.review_id = r.review_id) "
        "AS photos "
        f"FROM {VIEWS}.reviews r LEFT JOIN {SCHEMA}.products p ON p.id = r.product_id "
        "WHERE r.status = %(status)s ORDER BY r.submitted_at, r.review_id LIMIT 100"
    )
    + " AS reviews, "
    + f"(SELECT count(*) FROM {VIEWS}.reviews WHERE status = %(status)s) AS count"
)

PROJECTIONS = (
    "SELECT "
    + _VIEW_STATUS
    + " AS views, "
    + _json_list(
        "SELECT id, kind, target, status, position, head, result, started_by, started_at, "
        f"finished_at FROM {SCHEMA}.console_jobs ORDER BY started_at DESC LIMIT 10"
    )
    + " AS jobs, "
    + _LAST_JOB
    + " AS last_verify"
)


def _orders_query(where: list[str]) -> str:
    condition = ("WHERE " + " AND ".join(where)) if where else ""
    return (
        "SELECT order_id, status, payment_status, currency, email, total, placed_at, "
        "payment_intent_id, count(*) OVER () AS matching "
        f"FROM {VIEWS}.admin_orders {condition} "
        "ORDER BY placed_at DESC, order_id LIMIT %(limit)s OFFSET %(offset)s"
    )


class ConsoleViews:
    """The console's reads (``events``: the event store's table, for the log's head)."""

    def __init__(self, pool: Pool, events: sql.Composable) -> None:
        self._pool = pool
        self._events = events

    def _one(self, query: str, params: dict[str, Any]) -> Row | None:
        statement = sql.SQL(query).format(events=self._events)
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(statement, params)
            return cur.fetchone()

    def overview(self) -> Row:
        return self._one(OVERVIEW, {"kind": "verify"}) or {}

    def order(self, order_id: UUID) -> Row | None:
        return self._one(ORDER, {"order_id": order_id})

    def currency(self, order_id: UUID) -> str | None:
        """The order's currency (a refund typed in major units is read in it)."""
        row = self._one(
            f"SELECT currency FROM {VIEWS}.admin_orders WHERE order_id = %(id)s", {"id": order_id}
        )
        return str(row["currency"]) if row else None

    def inventory(self, variant_id: str = "", offset: int = 0) -> Row:
        params = {"variant": variant_id, "limit": LEVELS_PAGE, "offset": offset}
        return self._one(INVENTORY, params) or {}

    def reviews(self, status: str) -> Row:
        return self._one(REVIEWS, {"status": status}) or {}

    def projections(self) -> Row:
        return self._one(PROJECTIONS, {"kind": "verify"}) or {}

    def orders(self, chosen: OrderFilter) -> tuple[list[Row], int]:
        """A page of orders, newest first, and how many match the filter in all."""
        where: list[str] = []
        params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": chosen.offset}
        if chosen.status:
            where.append("status = %(status)s")
            params["status"] = chosen.status
        if chosen.payment_status:
            where.append("payment_status = %(payment_status)s")
            params["payment_status"] = chosen.payment_status
        search = chosen.search.strip()
        if search:
            where.append(_search_condition(search, params))
        with self._pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.SQL(_orders_query(where)), params)
            rows = cur.fetchall()
        return rows, int(rows[0]["matching"]) if rows else 0


def _search_condition(search: str, params: dict[str, Any]) -> str:
    """An order id, a PaymentIntent id, or (the start of) an e-mail address."""
    try:
        params["order_id"] = UUID(search)
        return "order_id = %(order_id)s"
    except ValueError:
        pass
    if search.startswith("pi_"):
        params["payment_intent_id"] = search
        return "payment_intent_id = %(payment_intent_id)s"
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    params["email"] = escaped + "%"
    return "lower(email) LIKE %(email)s"
