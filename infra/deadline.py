"""A request's time to wait for the database, so that every answer comes back in bounded time.

One request may wait for a pooled connection several times — a read, then the save,
each tried twice (``commands.ledger``). While the database is away each wait runs to its
pool's timeout (5 s for the event store's, 10 s for ours), and their sum kept a
``complete`` waiting 18 s, longer than a client or a load balancer waits. So an HTTP
request gets a deadline as it enters (``infra.web.request_deadline``), every wait for a
connection is cut to what is left of it, and once it has passed a wait for a busy or
absent database gives up at once: the request answers 503 and its client retries.

Work outside a request (the worker, the CLI, the views' followers) has no deadline: the
pools' own timeouts apply, as before.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from psycopg_pool import AsyncConnectionPool, ConnectionPool

# What a request may spend waiting for database connections, all waits together. With
# the work around it (a Stripe call, the save itself) an answer comes back within 15 s.
REQUEST_DATABASE_SECONDS = 10.0
# A wait after the deadline still takes a connection that is ready this instant.
_LAST_CHANCE = 0.001

_deadline: ContextVar[float | None] = ContextVar("orderledger_request_deadline", default=None)


@contextmanager
def request_deadline(seconds: float = REQUEST_DATABASE_SECONDS) -> Iterator[None]:
    """Within this block (and the threads it hands work to), waits end ``seconds`` from now."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def connection_wait(pool_timeout: float) -> float:
    """How long one wait for a connection may take: the pool's timeout, cut to the deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return pool_timeout
    return max(min(pool_timeout, deadline - time.monotonic()), _LAST_CHANCE)


def bound_by_request_deadline(pool: ConnectionPool[Any] | AsyncConnectionPool[Any]) -> None:
    """Make every ``connection()``/``getconn()`` of ``pool`` wait at most ``connection_wait``."""
    if getattr(pool.getconn, "bound_by_request_deadline", False):
        return  # one datastore may hold the events and the snapshots
    if isinstance(pool, AsyncConnectionPool):
        async_get = pool.getconn

        async def getconn_async(timeout: float | None = None) -> Any:
            return await async_get(connection_wait(pool.timeout if timeout is None else timeout))

        getconn_async.bound_by_request_deadline = True  # type: ignore[attr-defined]
        pool.getconn = getconn_async  # type: ignore[method-assign]
        return
    get = pool.getconn

    def getconn(timeout: float | None = None) -> Any:
        return get(connection_wait(pool.timeout if timeout is None else timeout))

    getconn.bound_by_request_deadline = True  # type: ignore[attr-defined]
    pool.getconn = getconn  # type: ignore[method-assign]
