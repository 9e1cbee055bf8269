"""Stripe webhook events: at-least-once, in any order, each processed once.

The event's own payload is not trusted for state: the PaymentIntent is fetched
again, so an old or out-of-order event acts on what is true now.
"""

import logging
from typing import Any
from uuid import UUID

from commands.cancellation import void_canceled_intent
from commands.carts import record_payment_seen
from commands.checkout import place_order
from commands.errors import NotOurPayment, OrderNotCreated
from commands.ports import PaymentIntent
from commands.reconcile.webhooks import MONEY_MOVED_AT_STRIPE, handle_money_moved_at_stripe
from commands.services import Services

log = logging.getLogger(__name__)


def handle_stripe_event(services: Services, event: dict[str, Any]) -> str:
    """Process one verified event; returns what was done (for logs and tests)."""
    event_id = str(event.get("id", ""))
    event_type = str(event.get("type", ""))
    if services.webhooks.seen(event_id):
        services.telemetry.count("webhook", "duplicate")
        return "duplicate"
    outcome = _dispatch(services, event_id, event_type, event)
    services.webhooks.remember(event_id, event_type, services.clock())
    services.telemetry.count("webhook", outcome)
    return outcome


def _intent_id(event: dict[str, Any]) -> str | None:
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if isinstance(obj, dict) and obj.get("object") == "payment_intent":
        intent_id = obj.get("id")
        return intent_id if isinstance(intent_id, str) else None
    return None


def _dispatch(services: Services, event_id: str, event_type: str, event: dict[str, Any]) -> str:
    if event_type in MONEY_MOVED_AT_STRIPE:  # refunds, disputes, lapses: see commands/reconcile
        return handle_money_moved_at_stripe(services, event_type, event)
    intent_id = _intent_id(event)
    if intent_id is None:
        return "ignored"
    cause = f"webhook:{event_id}"
    if event_type == "payment_intent.amount_capturable_updated":
        intent = services.payments.retrieve_payment_intent(intent_id)
        if intent.status == "canceled":
            _tell_cart(services, intent)
            void_canceled_intent(services, intent_id, by=cause)
            return "canceled"
        if not intent.is_authorized:
            _tell_cart(services, intent)
            return "not-authorized"
        # Placing the order completes the cart (no change after that); a refusal
        # releases the hold and tells the cart so.
        try:
            placed = place_order(services, intent, cause=cause)
        except NotOurPayment:
            return "not-ours"
        except OrderNotCreated as error:
            log.info("order not created for %s: %s", intent_id, error)
            return "refused"
        return "placed" if placed.created else "exists"
    if event_type == "payment_intent.canceled":
        intent = services.payments.retrieve_payment_intent(intent_id)
        _tell_cart(services, intent)
        if intent.status != "canceled":
            return "not-canceled"
        void_canceled_intent(services, intent_id, by=cause)
        return "voided"
    return "ignored"


def _tell_cart(services: Services, intent: PaymentIntent) -> None:
    """The cart keeps its PaymentIntent's state, so its changes need not ask Stripe."""
    try:
        cart_id = UUID(intent.cart_id) if intent.cart_id is not None else None
    except ValueError:
        cart_id = None  # another integration's metadata
    if cart_id is not None:
        record_payment_seen(services, cart_id, intent)
