"""``GET /admin/notifications``: the e-mail delivery log (the app requires the admin key)."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query

from queries.api.deps import ReadModelsDep

router = APIRouter(prefix="/admin", tags=["admin: notifications"])

Status = Literal["pending", "sent", "failed"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@router.get("/notifications")
def notifications(
    models: ReadModelsDep,
    status: Status | None = None,
    order_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Every e-mail decided, newest first: to whom, what, and how its delivery went."""
    rows, count = models.notifications(status=status, order_id=order_id, limit=limit, offset=offset)
    return {
        "data": [
            {
                "id": row["id"],
                "kind": row["kind"],
                "recipient": row["recipient"],
                "subject": row["subject"],
                "order_id": str(row["order_id"]) if row["order_id"] else None,
                "status": row["status"],
                "attempts": row["attempts"],
                "last_error": row["last_error"],
                "message_id": row["message_id"],
                "idempotency_key": row["idempotency_key"],
                "next_attempt_at": _iso(row["next_attempt_at"])
                if row["status"] == "pending"
                else None,
                "created_at": _iso(row["created_at"]),
                "updated_at": _iso(row["updated_at"]),
                "sent_at": _iso(row["sent_at"]),
            }
            for row in rows
        ],
        "count": count,
        "limit": limit,
        "offset": offset,
    }
