"""``POST /admin/inventory-levels``: count, adjust, or change the backorder policy."""

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field

from commands.api.deps import AdminKeyId, ServicesDep, tell_position
from commands.api.schemas import Body, IdText
from commands.inventory import update_inventory_level

router = APIRouter(prefix="/admin", tags=["admin: inventory"])


class InventoryLevelBody(Body):
    variant_id: IdText
    location_id: IdText
    stocked_quantity: Annotated[int | None, Field(strict=True, ge=0, le=10**9)] = None
    adjustment: Annotated[int | None, Field(strict=True, ge=-(10**9), le=10**9)] = None
    allow_backorder: bool | None = None


@router.post("/inventory-levels")
def post_inventory_level(
    body: InventoryLevelBody, services: ServicesDep, key_id: AdminKeyId, response: Response
) -> dict[str, Any]:
    change = update_inventory_level(
        services,
        variant_id=body.variant_id,
        location_id=body.location_id,
        stocked_quantity=body.stocked_quantity,
        adjustment=body.adjustment,
        allow_backorder=body.allow_backorder,
        by=f"admin-key:{key_id}",
    )
    tell_position(response, change.position)
    level = change.level
    return {
        "variant_id": level.item_id,
        "location_id": level.location_id,
        "stocked_quantity": level.stocked,
        "reserved_quantity": level.reserved,
        "available_quantity": level.available,
        "allow_backorder": level.allow_backorder,
    }
