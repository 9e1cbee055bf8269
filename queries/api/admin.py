"""``/admin`` reads: orders, their money movements, inventory, projections.

The admin key is required by the app when it mounts this router.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query

from domain.ids import inventory_level_id_for, payment_collection_id_for
from queries.api.deps import ReadModelsDep, ReadsByIdDep, ViewPositionsDep, caught_up_with
from queries.consistency import read_by_id, read_rows_by_id

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


@router.get("/orders", dependencies=[caught_up_with("admin_orders")])
def list_orders(
    models: ReadModelsDep,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    rows, count = models.admin_orders(status=status, limit=limit, offset=offset)
    return {"data": [_order_out(r) for r in rows], "count": count, "limit": limit, "offset": offset}


@router.get("/orders/{order_id}", dependencies=[caught_up_with("admin_orders")])
async def get_order(
    order_id: UUID, reads: ReadsByIdDep, positions: ViewPositionsDep
) -> dict[str, Any]:
    """The order; never 404 for an order the ledger holds (503 while its view catches up)."""
    row = await read_by_id(
        lambda: reads.admin_order(order_id),
        positions=positions,
        aggregate_ids=[order_id],  # its row appears with the order's events
        views=("admin_orders",),
        not_found=f"There is no order {order_id}.",
    )
    return _order_out(row)


@router.get("/orders/{order_id}/transactions", dependencies=[caught_up_with("order_transactions")])
async def order_transactions(
    order_id: UUID, reads: ReadsByIdDep, positions: ViewPositionsDep
) -> list[dict[str, Any]]:
    """The order's money movements; 404 for an order the ledger does not hold."""
    rows = await read_rows_by_id(
        lambda: reads.order_transactions(order_id),
        positions=positions,
        aggregate_ids=[payment_collection_id_for(order_id)],  # the money's own events
        views=("order_transactions",),
        not_found=f"There is no order {order_id}.",
    )
    return [
        {
            "kind": row["kind"],
            "amount": row["amount"],
            "currency": row["currency"],
            "reference": row["reference"],
            "created_at": row["created_at"].isoformat(),
        }
        for row in rows
    ]


def _level_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "variant_id": row["variant_id"],
        "location_id": row["location_id"],
        "stocked_quantity": row["stocked"],
        "reserved_quantity": row["reserved"],
        "available_quantity": row["available"],
        "allow_backorder": row["allow_backorder"],
    }


@router.get("/inventory-levels", dependencies=[caught_up_with("inventory_levels")])
def inventory_levels(
    models: ReadModelsDep,
    variant_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[dict[str, Any]]:
    return [_level_out(row) for row in models.inventory_levels(variant_id)]


CatalogId = Annotated[str, Path(max_length=64)]


@router.get(
    "/inventory-levels/{variant_id}/{location_id}",
    dependencies=[caught_up_with("inventory_levels")],
)
async def inventory_level(
    variant_id: CatalogId, location_id: CatalogId, reads: ReadsByIdDep, positions: ViewPositionsDep
) -> dict[str, Any]:
    """One variant's level at one stock location; never 404 for a level the ledger holds."""
    level_id = inventory_level_id_for(variant_id, location_id)
    row = await read_by_id(
        lambda: reads.inventory_level(level_id),
        positions=positions,
        aggregate_ids=[level_id],
        views=("inventory_levels",),
        not_found=f"There is no inventory level of {variant_id!r} at {location_id!r}.",
    )
    return _level_out(row)


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


@router.get("/backorders", dependencies=[caught_up_with("backorders")])
def backorders(
    models: ReadModelsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Where stock went below zero, by how much and for which order."""
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
