"""Folding order and payment events into one order row (shared by the order views)."""

from functools import cache
from typing import Any

from domain.lines import Line, Shipping, totals_of
from domain.order import Order
from domain.payment_collection import PaymentCollection
from domain.payment_disputes import payment_status as status_rule
from domain.payment_events import PAYMENT_EVENTS
from projections.base import Event, Row

ORDER_EVENTS: tuple[type, ...] = (
    Order.Placed,
    Order.LineItemAdded,
    Order.LineItemQuantityChanged,
    Order.LineItemRemoved,
    Order.Captured,
    Order.Canceled,
    # These change nothing the views show but the order's version, which a stale-page
    # check (the console's order changes) compares with the aggregate's own.
    Order.Changed,
    Order.AccessTokenHandedOut,
)


# isinstance against these tuples, once per event class rather than once per event.
@cache
def is_order_event(cls: type) -> bool:
    return issubclass(cls, ORDER_EVENTS)


@cache
def is_payment_event(cls: type) -> bool:
    return issubclass(cls, PAYMENT_EVENTS)


def _with_totals(row: Row) -> Row:
    totals = totals_of(
        (Line.from_data(item) for item in row["items"]),
        Shipping.from_data(row["shipping"]) if row.get("shipping") else None,
    )
    row["subtotal"] = totals.subtotal
    row["shipping_total"] = totals.shipping_total
    row["tax_total"] = totals.tax_total
    row["total"] = totals.total
    return row


def fold_order(event: Event, row: Row | None) -> Row | None:
    if isinstance(event, Order.Placed):
        return _with_totals(
            {
                "order_id": event.originator_id,
                "payment_intent_id": event.payment_intent_id,
                "cart_id": event.cart_id,
                "status": "placed",
                "payment_status": "pending",
                "currency": event.currency,
                "email": event.email,
                "shipping_address": event.shipping_address,
                "items": list(event.lines),
                "shipping": event.shipping,
                "placed_at": event.timestamp,
                "editable_until": event.editable_until,
                "payment": {},
                "version": event.originator_version,
                "updated_at": event.timestamp,
            }
        )
    if row is None:
        return None
    row = dict(row)
    row["version"] = event.originator_version
    row["updated_at"] = event.timestamp
    if isinstance(event, Order.LineItemAdded):
        row["items"] = [*row["items"], event.line]
    elif isinstance(event, Order.LineItemQuantityChanged):
        row["items"] = [
            {**item, "quantity": event.quantity} if item["id"] == event.line_id else item
            for item in row["items"]
        ]
    elif isinstance(event, Order.LineItemRemoved):
        row["items"] = [item for item in row["items"] if item["id"] != event.line_id]
    elif isinstance(event, Order.Captured):
        row["status"] = "captured"
        return row
    elif isinstance(event, Order.Canceled):
        row["status"] = "canceled"
        return row
    return _with_totals(row)


def fold_payment(event: Event, row: Row | None) -> Row | None:
    """Update the ``payment`` part and ``payment_status`` of an order row."""
    if row is None:
        return None
    row = dict(row)
    payment: dict[str, Any] = dict(row.get("payment") or {})
    if isinstance(event, PaymentCollection.Created):
        payment.update(
            payment_collection_id=str(event.originator_id),
            payment_intent_id=event.payment_intent_id,
            amount=event.amount,
            authorized=0,
            captured=0,
            refunded=0,
            voided=False,
            capture_due_at=None,
            capture_attempts=0,
            capture_failed=False,
        )
    elif isinstance(event, PaymentCollection.Authorized):
        payment["authorized"] = event.amount
        payment["capture_before"] = _iso(event.capture_before)
    elif isinstance(event, PaymentCollection.AuthorizationIncreased):
        payment["authorized"] = event.authorized
    elif isinstance(event, PaymentCollection.SupplementaryAuthorized):
        payment["authorized"] = payment.get("authorized", 0) + event.amount
    elif isinstance(event, PaymentCollection.AmountChanged):
        payment["amount"] = event.amount
    elif isinstance(event, PaymentCollection.CaptureScheduled):
        payment["capture_due_at"] = _iso(event.due_at)
    elif isinstance(event, PaymentCollection.CaptureFailed):
        payment["capture_attempts"] = event.attempt
        payment["capture_failed"] = event.final
    elif isinstance(event, PaymentCollection.CaptureSucceeded):
        payment["captured"] = event.amount
    elif isinstance(event, PaymentCollection.Refunded):
        payment["refunded"] = payment.get("refunded", 0) + event.amount
    elif isinstance(event, PaymentCollection.Voided):
        payment["voided"] = True
    elif isinstance(event, PaymentCollection.DisputeOpened):
        payment["disputed"] = payment.get("disputed", 0) + event.amount
    elif isinstance(event, PaymentCollection.DisputeClosed):
        payment["disputed"] = max(payment.get("disputed", 0) - event.amount, 0)
        if event.outcome == "lost":
            payment["dispute_lost"] = payment.get("dispute_lost", 0) + event.amount
    row["payment"] = payment
    row["payment_status"] = payment_status(payment)
    row["updated_at"] = event.timestamp
    return row


def payment_status(payment: dict[str, Any]) -> str:
    captured = payment.get("captured", 0)
    return status_rule(
        voided=bool(payment.get("voided")),
        captured=captured,
        is_captured=bool(captured),
        refunded=payment.get("refunded", 0),
        authorized=payment.get("authorized", 0),
        disputed=payment.get("disputed", 0),
        lost=payment.get("dispute_lost", 0),
    )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
