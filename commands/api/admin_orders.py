"""``/admin/orders/{id}``: capture now, cancel (void), refund."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Response
from pydantic import Field

from commands import cancellation, capture, refunds
from commands.api.deps import AdminKeyId, ServicesDep, tell_position
from commands.api.schemas import Body

router = APIRouter(prefix="/admin/orders", tags=["admin: payments"])


class RefundBody(Body):
    amount: Annotated[int, Field(strict=True, gt=0, le=10**15)]
    reason: Annotated[str, Field(max_length=500)] = ""


@router.post("/{order_id}/capture")
def capture_now(
    order_id: UUID, services: ServicesDep, key_id: AdminKeyId, response: Response
) -> dict[str, object]:
    outcome = capture.capture_payment(services, order_id, by=f"admin-key:{key_id}")
    tell_position(response, outcome.position)
    return {"order_id": str(order_id), "status": outcome.status, "amount": outcome.amount}


@router.post("/{order_id}/cancel")
def cancel(
    order_id: UUID, services: ServicesDep, key_id: AdminKeyId, response: Response
) -> dict[str, object]:
    position = cancellation.cancel_order(services, order_id, by=f"admin-key:{key_id}")
    tell_position(response, position)
    return {"order_id": str(order_id), "status": "canceled"}


# Named, a refund's retries stay one refund at Stripe even after a crash (commands.refunds).
RequestKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


@router.post("/{order_id}/refunds")
def refund(
    order_id: UUID,
    body: RefundBody,
    services: ServicesDep,
    key_id: AdminKeyId,
    response: Response,
    idempotency_key: RequestKey = None,
) -> dict[str, object]:
    position = refunds.refund_payment(
        services,
        order_id,
        amount=body.amount,
        reason=body.reason,
        by=f"admin-key:{key_id}",
        request_key=f"admin-key:{key_id}:{idempotency_key}" if idempotency_key else None,
    )
    tell_position(response, position)
    return {"order_id": str(order_id), "refunded": body.amount}
