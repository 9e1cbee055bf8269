"""Our own Postgres connections (reference data, views, keys), apart from the event store's."""

import time
import weakref
from typing import Any

from psycopg import AsyncConnection, Connection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from infra.database import conninfo
from infra.deadline import bound_by_request_deadline

# A pool pings a connection before handing it out, so that one the server dropped is
# replaced rather than failing a request. A connection that answered less than this
# long ago is handed out without another ping: the ping was a round trip on every
# checkout, a fifth of a storefront read's server time (bench-reads). Should the server
# drop it within that second, the request fails as during an outage (503) and the
# pool replaces the broken connection when it comes back.
RECHECK_AFTER = 1.0


class _LastAnswered:
    """When each pooled connection last answered a check (forgotten with the connection)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def recent(self, conn: object) -> bool:
        at = self._at.get(conn)
        return at is not None and time.monotonic() - at < self.seconds

    def answered(self, conn: object) -> None:
        self._at[conn] = time.monotonic()


class CheckUnlessRecent:
    """A ``ConnectionPool`` check that pings only connections not checked in the last second."""

    def __init__(self, seconds: float = RECHECK_AFTER) -> None:
        self._last = _LastAnswered(seconds)

    def __call__(self, conn: Connection[Any]) -> None:
        if self._last.recent(conn):
            return
        ConnectionPool.check_connection(conn)
        self._last.answered(conn)


class AsyncCheckUnlessRecent:
    """``CheckUnlessRecent`` for an ``AsyncConnectionPool``."""

    def __init__(self, seconds: float = RECHECK_AFTER) -> None:
        self._last = _LastAnswered(seconds)

    async def __call__(self, conn: AsyncConnection[Any]) -> None:
        if self._last.recent(conn):
            return
        await AsyncConnectionPool.check_connection(conn)
        self._last.answered(conn)


async def plan_once(conn: AsyncConnection[Any]) -> None:
    """A storefront read connection's statements get one generic plan each.

    Every storefront read is a lookup by key, yet PostgreSQL planned the product page
    afresh on every execution: its custom plans, made for the parameters at hand, were
    estimated cheaper than the generic one, so the plan psycopg's prepared statement
    cached was never used — half of that query's server time (0.29 → 0.14 ms a read).
    """
    await conn.execute("SET plan_cache_mode = force_generic_plan")


def open_pool(
    database_url: str, *, min_size: int = 2, max_size: int = 20
) -> ConnectionPool[Connection[TupleRow]]:
    """A connection pool for DATABASE_URL (SSL options included); opened and checked."""
    pool: ConnectionPool[Connection[TupleRow]] = ConnectionPool(
        conninfo(database_url),
        min_size=min_size,
        max_size=max_size,
        open=False,
        timeout=10.0,
        kwargs={"autocommit": True},
        check=CheckUnlessRecent(),
    )
    pool.open(wait=True, timeout=30.0)
    bound_by_request_deadline(pool)
    return pool


Pool = ConnectionPool[Connection[TupleRow]]
