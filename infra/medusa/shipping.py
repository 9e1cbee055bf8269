"""``/store/shipping-options?cart_id=``: the options of the cart's region."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from infra.medusa.deps import QueryDep, StoreDep, one
from infra.medusa.errors import MedusaError
from infra.medusa.shapes_catalog import shipping_option_out

router = APIRouter(prefix="/store/shipping-options", tags=["medusa: shipping"])


@router.get("")
def list_cart_options(store: StoreDep, params: QueryDep) -> dict[str, Any]:
    raw = one(params, "cart_id")
    if raw is None:
        raise MedusaError("invalid_data", "cart_id is required")
    try:
        cart_id = UUID(raw)
    except ValueError:
        raise MedusaError("not_found", f"Cart with id: {raw} was not found") from None
    cart = store.cart(cart_id)
    region = store.region(cart.region_id)
    options = store.catalog.shipping_options(region.id)
    return {"shipping_options": [shipping_option_out(o, region) for o in options]}
