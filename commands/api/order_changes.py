"""Changing an order during its grace period: by the admin, or by the customer's token."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Response

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


@admin.post("/{order_id}/line-items")
def admin_add_line(
    order_id: UUID,
    body: AddLine,
    services: ServicesDep,
    key_id: AdminKeyId,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    changed = order_changes.add_line_item(
        services,
        order_id,
        variant_id=body.variant_id,
        quantity=body.quantity,
        by=f"admin-key:{key_id}",
        expected_version=_version(if_match),
    )
    return _answer(changed, response)


@admin.post("/{order_id}/line-items/{line_id}")
def admin_change_line(
    order_id: UUID,
    line_id: str,
    body: ChangeLine,
    services: ServicesDep,
    key_id: AdminKeyId,
    response: Response,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    changed = order_changes.change_line_item(
        services,
        order_id,
        line_id,
        quantity=body.quantity,
        by=f"admin-key:{key_id}",
        expected_version=_version(if_match),
    )
    return _answer(changed, response)


@store.post("/{order_id}/line-items")
def store_add_line(
    order_id: UUID,
    body: AddLine,
    services: ServicesDep,
    response: Response,
    x_order_token: OrderToken = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    order_changes.authorize_customer(services, order_id, x_order_token)
    changed = order_changes.add_line_item(
        services,
        order_id,
        variant_id=body.variant_id,
        quantity=body.quantity,
        by="customer",
        expected_version=_version(if_match),
    )
    return _answer(changed, response)


@store.post("/{order_id}/line-items/{line_id}")
def store_change_line(
    order_id: UUID,
    line_id: str,
    body: ChangeLine,
    services: ServicesDep,
    response: Response,
    x_order_token: OrderToken = None,
    if_match: IfMatch = None,
) -> dict[str, Any]:
    order_changes.authorize_customer(services, order_id, x_order_token)
    changed = order_changes.change_line_item(
        services,
        order_id,
        line_id,
        quantity=body.quantity,
        by="customer",
        expected_version=_version(if_match),
    )
    return _answer(changed, response)
