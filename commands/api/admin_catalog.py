"""``POST /admin/catalog``: load or update the catalog."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Response

from commands.api.deps import AdminKeyId, ServicesDep, tell_position
from commands.catalog import CatalogFile
from commands.catalog_import import import_catalog

router = APIRouter(prefix="/admin", tags=["admin: catalog"])


@router.post("/catalog")
def post_catalog(
    body: CatalogFile, services: ServicesDep, key_id: AdminKeyId, response: Response
) -> dict[str, Any]:
    result = import_catalog(
        body,
        ledger=services.ledger,
        store=services.catalog,
        now=services.clock(),
        by=f"admin-key:{key_id}",
    )
    tell_position(response, result.position)
    return asdict(result)
