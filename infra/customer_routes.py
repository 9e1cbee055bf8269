"""``/admin/customers/export`` and ``/admin/customers/erase``: the CLI's verbs over HTTP.

The e-mail travels in the body, never in the URL (URLs end up in logs).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from commands.api.deps import require_admin
from commands.errors import InvalidRequest

router = APIRouter(tags=["admin: customers"])


class CustomerByEmail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


def _customers(request: Request) -> Any:
    customers = request.app.state.container.customers
    if customers is None:
        raise InvalidRequest("Personal-data encryption is off (PII_MASTER_KEY is unset).")
    return customers


@router.post("/admin/customers/export")
def export_customer(
    body: CustomerByEmail, request: Request, _: Annotated[str, Depends(require_admin)]
) -> dict[str, Any]:
    exported: dict[str, Any] = _customers(request).export(body.email)
    return exported


@router.post("/admin/customers/erase")
def erase_customer(
    body: CustomerByEmail, request: Request, key_id: Annotated[str, Depends(require_admin)]
) -> dict[str, Any]:
    erased: dict[str, Any] = _customers(request).erase(
        body.email, requested_by=f"admin-key:{key_id}"
    )
    return erased
