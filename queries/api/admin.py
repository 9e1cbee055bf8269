"""``/admin`` reads: orders, their money movements, inventory, projections.

The admin key is required by the app when it mounts this router.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from queries.api.deps import MinPosition, ReadModelsDep, caught_up
from queries.errors import NotFoundError

router = APIRouter(prefix="/admin", tags=["admin: reads"])

Status = Literal["placed", "captured", "canceled"]


def _order_out(row: dict[str, Any]) -> dict[str, Any]:
    payment = row.get("payment") or {}
    return {
        "order_id": str(row["order_id"]),
        "status": row["status"],
        "payment_status": row["payment_status"],
        "currency": row["currency"],
        "email": row["email"],
        "shipping_address": row["shipping_address"],
        "items": row["items"],
        "shipping": row["shipping"],
        "subtotal": row["subtotal"],
        "shipping_total": row["shipping_total"],
        "tax_total": row["tax_total"],
        "total": row["total"],
        "placed_at": row["placed_at"].isoformat(),
        "editable_until": row["editable_until"].isoformat(),
        "version": row["version"],
        "payment": {
            "status": row["payment_status"],
            "amount": payment.get("amount"),
            "authorized": payment.get("authorized", 0),
            "captured": payment.get("captured", 0),
            "refunded": payment.get("refunded", 0),
            "disputed": payment.get("disputed", 0),
            "dispute_lost": payment.get("dispute_lost", 0),
            "payment_intent_id": payment.get("payment_intent_id", row["payment_intent_id"]),
            "capture_due_at": payment.get("capture_due_at"),
        },
    }


@router.get("/orders")
def list_orders(
    models: ReadModelsDep,
    response: Response,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    caught_up(models, response, min_position, "admin_orders")
    rows, count = models.admin_orders(status=status, limit=limit, offset=offset)
    return {"data": [_order_out(r) for r in rows], "count": count, "limit": limit, "offset": offset}


@router.get("/orders/{order_id}")
def get_order(
    order_id: UUID, models: ReadModelsDep, response: Response, min_position: MinPosition = None
) -> dict[str, Any]:
    caught_up(models, response, min_position, "admin_orders")
    row = models.admin_order(order_id)
    if row is None:
        raise NotFoundError(f"There is no order {order_id}.")
    return _order_out(row)


@router.get("/orders/{order_id}/transactions")
def order_transactions(
    order_id: UUID, models: ReadModelsDep, response: Response, min_position: MinPosition = None
) -> list[dict[str, Any]]:
    caught_up(models, response, min_position, "order_transactions")
    return [
        {
            "kind": row["kind"],
            "amount": row["amount"],
            "currency": row["currency"],
            "reference": row["reference"],
            "created_at": row["created_at"].isoformat(),
        }
        for row in models.order_transactions(order_id)
    ]


@router.get("/inventory-levels")
def inventory_levels(
    models: ReadModelsDep,
    response: Response,
    variant_id: Annotated[str | None, Query(max_length=64)] = None,
    min_position: MinPosition = None,
) -> list[dict[str, Any]]:
    caught_up(models, response, min_position, "inventory_levels")
    return [
        {
            "variant_id": row["variant_id"],
            "location_id": row["location_id"],
            "stocked_quantity": row["stocked"],
            "reserved_quantity": row["reserved"],
            "available_quantity": row["available"],
            "allow_backorder": row["allow_backorder"],
        }
        for row in models.inventory_levels(variant_id)
    ]


@router.get("/authorizations/near-expiry")
def authorizations_near_expiry(
    models: ReadModelsDep, within_hours: Annotated[int, Query(ge=1, le=24 * 30)] = 48
) -> list[dict[str, Any]]:
    """Authorizations not yet captured that lapse soon: none should lapse silently."""
    return [
        {
            **{k: row[k] for k in ("payment_intent_id", "currency", "amount", "status")},
            "order_id": str(row["order_id"]),
            "authorized_at": row["authorized_at"].isoformat(),
            "capture_due_at": row["due_at"].isoformat() if row["due_at"] else None,
            "lapses_at": row["lapses_at"].isoformat(),
        }
        for row in models.authorizations_near_expiry(within_hours)
    ]


@router.get("/backorders")
def backorders(
    models: ReadModelsDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    min_position: MinPosition = None,
) -> list[dict[str, Any]]:
    """Where stock went below zero, by how much and for which order."""
    caught_up(models, response, min_position, "backorders")
    return [
        {
            "variant_id": row["variant_id"],
            "location_id": row["location_id"],
            "order_id": row["order_id"],
            "shortfall": row["shortfall"],
            "recorded_at": row["recorded_at"].isoformat(),
        }
        for row in models.backorders(limit=limit, offset=offset)
    ]


@router.get("/projections")
def projections(models: ReadModelsDep) -> list[dict[str, Any]]:
    return models.projections()
