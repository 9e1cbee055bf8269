"""Reads by id never deny what the ledger holds: the one home of that rule.

A view lags the event store by a moment. A list may show that moment (``?min_position``
is there for lists), but a read of one thing by its id that answered 404 for an order
placed a millisecond ago would tell the caller the order does not exist. So a read by
id that misses in its view asks the event store whether the aggregate exists (one index
probe per id, only on a miss); if it does, it waits, without holding a thread, until
the view has processed that aggregate's latest event and reads again. If the view does
not get there in time the answer is 503 with ``Retry-After`` (``ViewBehind``), never
404. A true miss stays a 404 at the cost of that one probe.

Every router that reads by id goes through ``read_by_id``; a new surface (the Medusa
store API, the console) points its reads at it too.
"""

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar
from uuid import UUID

from queries.errors import NotFoundError, ViewBehind
from queries.ports import ViewPositions

T = TypeVar("T")


async def read_by_id(
    read: Callable[[], Awaitable[T | None]],
    *,
    positions: ViewPositions,
    aggregate_ids: Sequence[UUID],
    views: Sequence[str],
    not_found: str,
    timeout: float | None = None,
) -> T:
    """``read()`` from the view, or, when it finds nothing, from the view caught up with
    the aggregates' latest event (waiting ``timeout``, or the configured wait when None).

    Raises ``NotFoundError(not_found)`` when the ledger holds none of ``aggregate_ids``
    or when the caught-up view still shows nothing (the id names another kind of
    aggregate); ``ViewBehind`` (503, ``Retry-After``) when the view does not catch up
    within ``timeout``.
    """
    answer = await read()
    if answer is not None:
        return answer
    await _caught_up(positions, aggregate_ids, views, not_found, timeout)
    answer = await read()
    if answer is None:
        raise NotFoundError(not_found)
    return answer


async def read_rows_by_id(
    read: Callable[[], Awaitable[list[T]]],
    *,
    positions: ViewPositions,
    aggregate_ids: Sequence[UUID],
    views: Sequence[str],
    not_found: str,
    timeout: float | None = None,
) -> list[T]:
    """``read_by_id`` for the rows of one thing (an order's money movements): rows found
    are the answer; none, and the ledger holds none of ``aggregate_ids``, is a 404; none
    from the caught-up view is an empty answer."""
    rows = await read()
    if rows:
        return rows
    await _caught_up(positions, aggregate_ids, views, not_found, timeout)
    return await read()


async def _caught_up(
    positions: ViewPositions,
    aggregate_ids: Sequence[UUID],
    views: Sequence[str],
    not_found: str,
    timeout: float | None,
) -> None:
    """Return once the views have the aggregates' latest event; 404 when there is none."""
    last = await positions.last_position_of(aggregate_ids)
    if last is None:
        raise NotFoundError(not_found)
    if not await positions.wait_for(last, views, timeout):
        raise ViewBehind(
            "The ledger holds this but its view has not caught up yet; ask again shortly."
        )
