"""Our own Postgres connections (reference data, views, keys), apart from the event store's."""

from psycopg import Connection
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from infra.database import conninfo


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
        check=ConnectionPool.check_connection,
    )
    pool.open(wait=True, timeout=30.0)
    return pool


Pool = ConnectionPool[Connection[TupleRow]]
