"""``views.order_transactions`` summed per order and kind, for ``audit verify``."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import Connection

from infra.pg import Pool
from infra.view_store import VIEWS
from queries.audit.ports import ViewSnapshot, ViewTotal

PROJECTION = "order_transactions"


class PostgresTransactionsView:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @contextmanager
    def snapshot(self) -> Iterator[ViewSnapshot | None]:
        """The view's position and its sums, read in one repeatable-read snapshot.

        The view commits its rows together with its position, so the two agree. The
        sums are streamed from a server-side cursor when the caller gets to them.
        """
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            position = _position(conn)
            if position is None:
                yield None
                return

            def totals() -> Iterator[ViewTotal]:
                with conn.cursor(name="audit_view_totals") as cursor:
                    cursor.itersize = 5_000
                    cursor.execute(
                        "SELECT order_id, kind, currency, count(*), sum(amount)::bigint "
                        f"FROM {VIEWS}.{PROJECTION} "
                        "GROUP BY order_id, kind, currency ORDER BY order_id, kind"
                    )
                    for order_id, kind, currency, count, amount in cursor:
                        yield ViewTotal(order_id, kind, currency, int(count), int(amount))

            yield ViewSnapshot(position=position, totals=totals())


def _position(conn: Connection[Any]) -> int | None:
    """The view's position in the log; None where there are no views (yet)."""
    exists = conn.execute(
        "SELECT to_regclass(%s) IS NOT NULL AND to_regclass(%s) IS NOT NULL",
        (f"{VIEWS}.tracking", f"{VIEWS}.{PROJECTION}"),
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute(
        f"SELECT t.position FROM {VIEWS}.registry r JOIN {VIEWS}.tracking t "
        "ON t.projection = r.projection AND t.generation = r.generation "
        "WHERE r.projection = %s",
        (PROJECTION,),
    ).fetchone()
    return int(row[0]) if row else None
