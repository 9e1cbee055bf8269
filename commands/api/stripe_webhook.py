"""``POST /webhooks/stripe``: verified on the raw body, then processed once."""

from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from commands.api.deps import ServicesDep
from commands.stripe_webhooks import handle_stripe_event

router = APIRouter(tags=["webhooks"])


class WebhookVerifier(Protocol):
    def verify(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """The event, if ``signature`` is Stripe's for ``payload``; raises ``InvalidWebhook``."""
        ...


@router.post("/webhooks/stripe")
async def stripe_webhook(request: Request, services: ServicesDep) -> dict[str, str]:
    verifier: WebhookVerifier = request.app.state.webhook_verifier
    payload = await request.body()
    event = verifier.verify(payload, request.headers.get("stripe-signature"))
    outcome = await run_in_threadpool(handle_stripe_event, services, event)
    return {"received": "true", "outcome": outcome}
