"""When each authorized payment is due for capture, and how its capture went."""

from typing import Any

from domain.capture_timing import lapses_at, next_attempt_at
from domain.payment_collection import PaymentCollection
from domain.payment_events import CAPTURE_EVENTS
from projections.base import Event, Row, RowProjector, Table

CAPTURE_SCHEDULE = Table(
    "capture_schedule",
    {
        "payment_collection_id": "uuid",
        "order_id": "uuid",
        "payment_intent_id": "text",
        "currency": "text",
        "amount": "bigint",
        "authorized": "bigint",
        "authorized_at": "timestamptz",
        "capture_before": "timestamptz",
        "due_at": "timestamptz",
        # The rules' results (domain/capture_timing.py), so that SQL only reads them.
        "lapses_at": "timestamptz",
        "next_attempt_at": "timestamptz",  # after a failure: not before (backoff)
        "status": "text",  # pending | scheduled | captured | failed | voided
        "attempts": "integer",
        "last_error": "text",
        "captured_at": "timestamptz",
        "updated_at": "timestamptz",
    },
    indexes=("(status, due_at)",),
)


class CaptureScheduleProjector(RowProjector):
    name = "capture_schedule"
    tables = (CAPTURE_SCHEDULE,)
    topics = CAPTURE_EVENTS

    def key_of(self, event: Event) -> Any | None:
        return event.originator_id

    def apply(self, event: Event, row: Row | None) -> Row | None:
        if isinstance(event, PaymentCollection.Created):
            row = {column: None for column in CAPTURE_SCHEDULE.columns}
            row.update(
                payment_collection_id=event.originator_id,
                order_id=event.order_id,
                payment_intent_id=event.payment_intent_id,
                currency=event.currency,
                amount=event.amount,
                authorized=0,
                status="pending",
                attempts=0,
            )
        elif row is None:
            return None
        else:
            row = dict(row)
            if isinstance(event, PaymentCollection.Authorized):
                row.update(authorized=event.amount, authorized_at=event.timestamp)
                row["capture_before"] = event.capture_before
                row["lapses_at"] = lapses_at(event.timestamp, event.capture_before)
            elif isinstance(event, PaymentCollection.AuthorizationIncreased):
                row["authorized"] = event.authorized
            elif isinstance(event, PaymentCollection.SupplementaryAuthorized):
                row["authorized"] += event.amount
            elif isinstance(event, PaymentCollection.AmountChanged):
                row["amount"] = event.amount
            elif isinstance(event, PaymentCollection.CaptureScheduled):
                row.update(due_at=event.due_at, status="scheduled")
            elif isinstance(event, PaymentCollection.CaptureFailed):
                row.update(attempts=event.attempt, last_error=event.reason)
                if event.final:
                    row["status"] = "failed"
            elif isinstance(event, PaymentCollection.CaptureSucceeded):
                row.update(status="captured", captured_at=event.timestamp)
            elif isinstance(event, PaymentCollection.Voided):
                row["status"] = "voided"
        row["updated_at"] = event.timestamp
        row["next_attempt_at"] = next_attempt_at(row["attempts"], event.timestamp)
        return row
