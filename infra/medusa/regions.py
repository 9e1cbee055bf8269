"""``/store/regions``."""

from typing import Any

from fastapi import APIRouter

from infra.medusa import qs
from infra.medusa.deps import QueryDep, StoreDep, page
from infra.medusa.errors import MedusaError
from infra.medusa.shapes_catalog import region_out

router = APIRouter(prefix="/store/regions", tags=["medusa: regions"])


@router.get("")
def list_regions(store: StoreDep, params: QueryDep) -> dict[str, Any]:
    limit, offset = page(params)
    try:
        ids = qs.strings(params.get("id"))
    except qs.QueryError as error:
        raise MedusaError("invalid_data", f"id: {error}") from None
    regions, count = store.catalog.regions(ids=ids or None, limit=limit, offset=offset)
    return {
        "regions": [region_out(r) for r in regions],
        "count": count,
        "offset": offset,
        "limit": limit,
    }


@router.get("/{region_id}")
def get_region(region_id: str, store: StoreDep) -> dict[str, Any]:
    return {"region": region_out(store.region(region_id))}
