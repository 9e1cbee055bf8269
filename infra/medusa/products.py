"""``/store/products``: what the key's sales channels sell, priced in a region."""

from typing import Any

from fastapi import APIRouter

from infra.medusa import qs
from infra.medusa.deps import QueryDep, StoreDep, one, page
from infra.medusa.errors import MedusaError
from infra.medusa.shapes_catalog import product_out

router = APIRouter(prefix="/store/products", tags=["medusa: products"])


def _channels(store: StoreDep, params: dict[str, Any]) -> list[str]:
    """The key's channels, narrowed to ``sales_channel_id`` when given (never widened)."""
    asked = qs.strings(params.get("sales_channel_id"))
    allowed = list(store.key.sales_channel_ids)
    outside = [c for c in asked if c not in allowed]
    if outside:
        raise MedusaError(
            "invalid_data",
            f"Requested sales channel is not part of the publishable key: {', '.join(outside)}",
        )
    return asked or allowed


@router.get("")
def list_products(store: StoreDep, params: QueryDep) -> dict[str, Any]:
    limit, offset = page(params)
    try:
        ids = qs.strings(params.get("id")) + qs.strings(params.get("handle"))
        channels = _channels(store, params)
    except qs.QueryError as error:
        raise MedusaError("invalid_data", str(error)) from None
    region_id = one(params, "region_id")
    region = store.region(region_id) if region_id else None
    rows, count = store.catalog.products(
        channels=channels, ids=ids or None, limit=limit, offset=offset
    )
    images = store.images_of([row["id"] for row in rows])
    return {
        "products": [product_out(row, region, images.get(row["id"], ())) for row in rows],
        "count": count,
        "offset": offset,
        "limit": limit,
    }


@router.get("/{product_id}")
def get_product(product_id: str, store: StoreDep, params: QueryDep) -> dict[str, Any]:
    try:
        channels = _channels(store, params)
    except qs.QueryError as error:
        raise MedusaError("invalid_data", str(error)) from None
    region_id = one(params, "region_id")
    region = store.region(region_id) if region_id else None
    rows, _ = store.catalog.products(channels=channels, ids=[product_id], limit=1, offset=0)
    if not rows:
        raise MedusaError("not_found", f"Product with id: {product_id} was not found")
    images = store.images_of([product_id])
    return {"product": product_out(rows[0], region, images.get(product_id, ()))}
