"""``/store/orders/{id}``, and reading an order right after it was placed."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from domain.order import Order
from infra.medusa.deps import Store, StoreDep
from infra.medusa.errors import MedusaError
from infra.medusa.shapes_checkout import order_out

router = APIRouter(prefix="/store/orders", tags=["medusa: orders"])

ORDER_VIEW = "admin_orders"
WAIT_SECONDS = 5.0


def placed_order_row(store: Store, order_id: UUID, position: int | None) -> dict[str, Any] | None:
    """The order's view row, read after its own write: when the view has not got it yet,
    wait (bounded) until the view has processed the write — the position ``complete``
    returned, else the event store's head once it holds the order. None: no such order.

    The one place the Medusa surface reads its own writes (a general "read by id"
    helper can replace this body).
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
def get_order(order_id: UUID, store: StoreDep) -> dict[str, Any]:
    row = placed_order_row(store, order_id, None)
    if row is None:
        raise MedusaError("not_found", f"Order with id: {order_id} was not found")
    return {"order": order_out(row)}
