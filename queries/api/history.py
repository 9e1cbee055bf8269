"""``GET /admin/orders/{id}/history``: the order's financial history replayed from the events.

The admin key is required by the app when it mounts this router.
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from queries.audit.ports import EventStore
from queries.audit.replay import history_json, replay_order
from queries.audit.source import order_events
from queries.errors import NotFoundError

router = APIRouter(prefix="/admin", tags=["admin: audit"])


async def get_event_store(request: Request) -> EventStore:
    """The ledger, seen through the audit's port (the container is made in the lifespan)."""
    store: EventStore = request.app.state.container.ledger
    return store


EventStoreDep = Annotated[EventStore, Depends(get_event_store)]


@router.get("/orders/{order_id}/history")
def order_history(
    order_id: UUID,
    store: EventStoreDep,
    as_of: Annotated[
        datetime | None,
        Query(description="The state as it was at this instant (ISO 8601; UTC if no offset)."),
    ] = None,
) -> dict[str, Any]:
    """Every money movement with running authorized / captured / refunded / outstanding,
    and every event of the order and its payment collection, with what caused it."""
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    history = replay_order(order_id, *order_events(store, order_id), as_of=as_of)
    if history is None:
        when = f" as of {as_of.isoformat()}" if as_of else ""
        raise NotFoundError(f"There is no order {order_id}{when}.")
    return history_json(history)
