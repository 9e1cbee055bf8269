"""``/store/customers/me``: no customer accounts here, so every caller is a guest (401),
which is how a storefront learns that nobody is signed in."""

from fastapi import APIRouter

from infra.medusa.deps import StoreDep
from infra.medusa.errors import MedusaError

router = APIRouter(prefix="/store/customers", tags=["medusa: customers"])


@router.get("/me")
def me(store: StoreDep) -> None:
    raise MedusaError("unauthorized", "Unauthorized")
