"""``/store/orders/{id}``, and reading an order right after it was placed.

Medusa serves an order to anyone holding its id and a publishable key. Ours are
derived from the PaymentIntent id, which is no secret, so the order's personal data
(e-mail, shipping address but its country) are shown only in the hour after placing,
while the storefront's confirmation page reads it; the native
``GET /store/orders/{id}`` with the order's token shows them for as long as it opens.
"""

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi import APIRouter

from domain.order import Order
from infra.medusa.deps import Store, StoreDep
from infra.medusa.shapes_checkout import order_out
from queries.api.deps import ReadsByIdDep, ViewPositionsDep
from queries.consistency import read_by_id

router = APIRouter(prefix="/store/orders", tags=["medusa: orders"])

ORDER_VIEW = "admin_orders"
WAIT_SECONDS = 5.0
DETAILS_SHOWN = timedelta(hours=1)  # personal data after placing (see the module doc)


def shows_details(placed_at: datetime, now: datetime) -> bool:
    return now - placed_at < DETAILS_SHOWN


def placed_order_row(store: Store, order_id: UUID, position: int | None) -> dict[str, Any] | None:
    """The order's view row, read after its own write: when the view has not got it yet,
    wait (bounded) until the view has processed the write — the position ``complete``
    returned, else the event store's head once it holds the order. None: no such order.

    ``complete`` reads through this (it knows its position); ``GET /store/orders/{id}``
    through the general ``queries.consistency.read_by_id``.
    """
    models = store.read_models
    row = models.admin_order(order_id)
    if row is not None:
        return row
    if position is None:
        ledger = store.services.ledger
        if ledger.get_or_none(order_id, Order) is None:
            return None
        position = ledger.head
    models.wait_for(position, (ORDER_VIEW,), WAIT_SECONDS)
    return models.admin_order(order_id)


@router.get("/{order_id}")
async def get_order(
    order_id: UUID, store: StoreDep, reads: ReadsByIdDep, positions: ViewPositionsDep
) -> dict[str, Any]:
    """The order, read as every read by id is: never 404 for an order the ledger holds."""
    row = await read_by_id(
        lambda: reads.admin_order(order_id),
        positions=positions,
        aggregate_ids=[order_id],
        views=(ORDER_VIEW,),
        not_found=f"Order with id: {order_id} was not found",
    )
    personal = shows_details(row["placed_at"], store.services.clock())
    return {"order": order_out(row, personal=personal)}
