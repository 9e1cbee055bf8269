"""The lists of payment event classes, kept once (the views subscribe to them)."""

from typing import Final

from domain.payment_collection import PaymentCollection

# What decides a capture: the amount, the holds, the schedule and how the capture went.
CAPTURE_EVENTS: Final[tuple[type, ...]] = (
    PaymentCollection.Created,
    PaymentCollection.Authorized,
    PaymentCollection.AuthorizationIncreased,
    PaymentCollection.SupplementaryAuthorized,
    PaymentCollection.AmountChanged,
    PaymentCollection.CaptureScheduled,
    PaymentCollection.CaptureFailed,
    PaymentCollection.CaptureSucceeded,
    PaymentCollection.Voided,
)
# Every event of a payment collection: the capture's, and money moved after it.
PAYMENT_EVENTS: Final[tuple[type, ...]] = (
    *CAPTURE_EVENTS,
    PaymentCollection.Refunded,
    PaymentCollection.DisputeOpened,
    PaymentCollection.DisputeClosed,
)
