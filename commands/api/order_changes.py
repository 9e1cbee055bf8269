"""Changing an order during its grace period: by the admin, or by the customer's token."""

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response

from commands import order_changes
from commands.api.deps import AdminKeyId, ServicesDep, tell_position
from commands.api.schemas import AddLine, ChangeLine
from commands.errors import InvalidRequest

admin = APIRouter(prefix="/admin/orders", tags=["admin: order changes"])
store = APIRouter(prefix="/store/orders", tags=["store: order changes"])

IfMatch = Annotated[
    str | None, Header(description='The order version the change is based on, e.g. "7".')
]
OrderToken = Annotated[str | None, Header(alias="X-Order-Token", max_length=200)]


class BadIfMatch(InvalidRequest):
    """If-Match must carry an order version."""


def _version(if_match: str | None) -> int | None:
    if if_match is None:
        return None
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 9:
        raise BadIfMatch('If-Match must name an order version, such as "7".')
    return int(text)


def _answer(changed: order_changes.ChangedOrder, response: Response) -> dict[str, Any]:
    order, payment = changed.order, changed.payment
    tell_position(response, changed.position)
    response.headers["ETag"] = f'"{order.version}"'
    return {
        "order_id": str(order.id),
        "status": order.status,
        "payment_status": payment.status,
        "currency": order.currency,
        "items": [
            {
                "id": line.id,
                "variant_id": line.variant_id,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "total": line.total,
            }
            for line in order.lines.values()
        ],
        "subtotal": order.subtotal,
        "shipping_total": order.shipping_total,
        "tax_total": order.tax_total,
        "total": order.total,
        "placed_at": order.placed_at.isoformat(),
        "editable_until": order.editable_until.isoformat(),
    }


def _admin(key_id: AdminKeyId) -> str:
    return f"admin-key:{key_id}"


def _customer(order_id: UUID, services: ServicesDep, x_order_token: OrderToken = None) -> str:
    """The order's access token, or a 404 that does not say whether the order exists."""
    order_changes.authorize_customer(services, order_id, x_order_token)
    return "customer"


def _routes(router: APIRouter, who: Callable[..., str]) -> None:
    """The same two changes on a surface; ``who`` authorizes and names the changer."""
    ChangedBy = Annotated[str, Depends(who)]

    @router.post("/{order_id}/line-items")
    def add_line(
        order_id: UUID,
        body: AddLine,
        services: ServicesDep,
        changed_by: ChangedBy,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        changed = order_changes.add_line_item(
            services,
            order_id,
            variant_id=body.variant_id,
            quantity=body.quantity,
            by=changed_by,
            expected_version=_version(if_match),
        )
        return _answer(changed, response)

    @router.post("/{order_id}/line-items/{line_id}")
    def change_line(
        order_id: UUID,
        line_id: str,
        body: ChangeLine,
        services: ServicesDep,
        changed_by: ChangedBy,
        response: Response,
        if_match: IfMatch = None,
    ) -> dict[str, Any]:
        changed = order_changes.change_line_item(
            services,
            order_id,
            line_id,
            quantity=body.quantity,
            by=changed_by,
            expected_version=_version(if_match),
        )
        return _answer(changed, response)


_routes(admin, _admin)
_routes(store, _customer)
