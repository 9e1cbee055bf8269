"""Stripe webhooks about money moved at Stripe: refunds, disputes, a lapsed hold.

As with the PaymentIntent events, the payload only says *where* to look: the refunds,
the dispute or the PaymentIntent are read again from Stripe, and what is settled
there is recorded (``source="stripe"``). A fact the ledger cannot explain (a refund of
more than it captured) is not recorded: it is alerted, and reconcile reports it.
"""

import logging
from typing import Any

from commands.reconcile.facts import (
    Recording,
    order_of,
    record_cancellation,
    record_disputes,
    record_refunds,
)
from commands.reconcile.stripe_records import StripeRecordNotFound, StripeRecords
from commands.services import Services
from domain.errors import DomainError

log = logging.getLogger(__name__)

REFUND_EVENTS = frozenset(
    {"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated"}
)
DISPUTE_EVENTS = frozenset(
    {
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
    }
)
LAPSE_EVENTS = frozenset({"charge.expired"})
MONEY_MOVED_AT_STRIPE = REFUND_EVENTS | DISPUTE_EVENTS | LAPSE_EVENTS


def handle_money_moved_at_stripe(services: Services, event_type: str, event: dict[str, Any]) -> str:
    """Record what one verified event points at; returns the outcome (for logs and metrics)."""
    records = services.stripe_records
    obj = event.get("data", {}).get("object", {})
    if records is None or not isinstance(obj, dict):
        return "ignored"
    intent_id = _payment_intent_of(obj)
    if intent_id is None:
        return "ignored"
    try:
        payment = records.payment(intent_id)
    except StripeRecordNotFound:
        return "not-ours"
    order_id = order_of(services, intent_id, payment.metadata)
    if order_id is None:
        return "not-ours"
    try:
        if event_type in REFUND_EVENTS:
            recording = record_refunds(
                services, order_id, records.refunds_of(intent_id), source="stripe"
            )
        elif event_type in DISPUTE_EVENTS:
            recording = record_disputes(
                services, order_id, _disputes(records, obj, intent_id), source="stripe"
            )
        else:
            recording = record_cancellation(services, order_id, payment, source="stripe")
    except DomainError as error:
        services.alerts.alert(
            "Money moved at Stripe that the ledger cannot explain",
            f"Order {order_id}, PaymentIntent {intent_id}, {event_type}: {error} "
            "Nothing was recorded; `orderledger reconcile` reports it until it is resolved.",
        )
        return "unexplained"
    return _outcome(recording)


def _payment_intent_of(obj: dict[str, Any]) -> str | None:
    """A refund, a charge and a dispute each name their PaymentIntent."""
    intent = obj.get("payment_intent")
    if isinstance(intent, dict):
        intent = intent.get("id")
    return intent if isinstance(intent, str) and intent.startswith("pi_") else None


def _disputes(records: StripeRecords, obj: dict[str, Any], intent_id: str) -> list[Any]:
    if obj.get("object") == "dispute" and isinstance(obj.get("id"), str):
        try:
            return [records.dispute(obj["id"])]
        except StripeRecordNotFound:
            return []
    return records.disputes_of(intent_id)


def _outcome(recording: Recording) -> str:
    if not recording.facts:
        return "known"
    return ",".join(sorted({fact.kind for fact in recording.facts}))
