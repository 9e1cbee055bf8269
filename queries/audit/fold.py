"""One order's money folded from its events: what replay, verify and export share.

The fold follows the aggregates' own rules (``Order`` totals from its lines,
``PaymentCollection`` authorized / captured / refunded) but keeps only what an audit
needs, so a whole store can be folded order by order without loading aggregates.
"""

import sys
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic

from domain.lines import Line, Shipping, totals_of
from domain.order import Order
from domain.payment_collection import (
    AUTHORIZATION,
    CAPTURE,
    INCREMENT,
    REFUND,
    VOID,
    PaymentCollection,
)
from domain.payment_disputes import DISPUTE, DISPUTE_LOST, DISPUTE_WON, LOST, status_of

KINDS: Final = (AUTHORIZATION, INCREMENT, CAPTURE, REFUND, VOID, DISPUTE, DISPUTE_WON, DISPUTE_LOST)
# Fields in which order events name who or what caused them.
CAUSE_FIELDS: Final = ("placed_by", "changed_by", "canceled_by")
UNKNOWN: Final = "unknown"

Event = Any  # a decoded domain event of an Order or a PaymentCollection


def _event_classes(aggregate: type) -> list[type]:
    return [
        value
        for value in vars(aggregate).values()
        if isinstance(value, type) and issubclass(value, CanMutateAggregate)
    ]


ORDER_EVENTS: Final = tuple(_event_classes(Order))
PAYMENT_EVENTS: Final = tuple(_event_classes(PaymentCollection))
# What an audit reads from the log; inventory, carts and the rest are never decoded.
MONEY_TOPICS: Final = tuple(get_topic(cls) for cls in (*ORDER_EVENTS, *PAYMENT_EVENTS))
PAYMENT_TOPICS: Final = tuple(get_topic(cls) for cls in PAYMENT_EVENTS)


@dataclass(frozen=True, slots=True)
class Movement:
    """One money movement: what the collection's transaction entry records."""

    kind: str
    amount: int
    reference: str


def cause_of(event: Event) -> str | None:
    """Who or what an order event says caused it (None if it says nothing)."""
    for name in CAUSE_FIELDS:
        cause = getattr(event, name, None)
        if cause is not None:
            return str(cause)
    return None


class OrderMoney:
    """The money state of one order and its payment collection, as its events left it.

    ``outstanding`` is what is still to be collected: the collection's amount while
    the hold is open and uncaptured; 0 once captured (the rest of a hold lapses) or
    voided.
    """

    __slots__ = (
        "amount",
        "authorized",
        "capture_attempts",
        "capture_due_at",
        "capture_failed",
        "captured",
        "captures",
        "currency",
        "dispute_lost",
        "disputed",
        "entries_authorized",
        "entries_captured",
        "entries_refunded",
        "has_order",
        "has_payment",
        "lines",
        "order_id",
        "order_status",
        "payment_collection_id",
        "refunded",
        "shipping",
        "total",
        "voided",
    )

    def __init__(self, order_id: UUID | None, payment_collection_id: UUID) -> None:
        self.order_id = order_id  # None until a collection's Created names it
        self.payment_collection_id = payment_collection_id
        self.currency = ""
        self.has_order = False
        self.has_payment = False
        # Lines are dropped once the order is captured or canceled: it cannot change then.
        self.lines: dict[str, Line] | None = {}
        self.shipping: Shipping | None = None
        self.total = 0
        self.order_status = ""
        self.amount = 0
        self.authorized = 0
        self.captured = 0
        self.captures = 0
        self.refunded = 0
        self.voided = False
        self.disputed = 0  # open disputes hold this
        self.dispute_lost = 0
        self.capture_due_at: Any = None
        self.capture_attempts = 0
        self.capture_failed = False
        # Sums of the transaction entries (what PaymentCollection._record keeps).
        self.entries_authorized = 0
        self.entries_captured = 0
        self.entries_refunded = 0

    # --- derived --------------------------------------------------------------------------

    @property
    def is_captured(self) -> bool:
        return self.captures > 0

    @property
    def outstanding(self) -> int:
        return 0 if self.voided or self.is_captured else self.amount

    @property
    def payment_status(self) -> str:
        """As ``PaymentCollection.status`` says it (the same rule)."""
        return status_of(self)

    # --- folding --------------------------------------------------------------------------

    def apply(self, event: Event) -> Movement | None:
        """Fold one event of this order or its collection; the movement it made, if any."""
        handler = _HANDLERS.get(type(event))
        return handler(self, event) if handler is not None else None

    def _placed(self, event: Event) -> None:
        self.has_order = True
        self.currency = self.currency or sys.intern(event.currency)
        self.lines = {data["id"]: Line.from_data(data) for data in event.lines}
        self.shipping = Shipping.from_data(event.shipping) if event.shipping else None
        self.order_status = "placed"
        self._retotal()

    def _line_added(self, event: Event) -> None:
        if self.lines is not None:
            self.lines[event.line["id"]] = Line.from_data(event.line)
            self._retotal()

    def _quantity_changed(self, event: Event) -> None:
        if self.lines is not None and event.line_id in self.lines:
            self.lines[event.line_id] = self.lines[event.line_id].with_quantity(event.quantity)
            self._retotal()

    def _line_removed(self, event: Event) -> None:
        if self.lines is not None:
            self.lines.pop(event.line_id, None)
            self._retotal()

    def _retotal(self) -> None:
        if self.lines is not None:
            self.total = totals_of(self.lines.values(), self.shipping).total

    def _order_closed(self, status: str) -> None:
        self.order_status = status
        self.lines = None
        self.shipping = None

    def _created(self, event: Event) -> None:
        self.has_payment = True
        self.currency = sys.intern(event.currency)
        self.amount = event.amount

    def _authorized(self, event: Event) -> Movement:
        self.authorized = event.amount
        self.entries_authorized += event.amount
        return Movement(AUTHORIZATION, event.amount, event.reference)

    def _increased(self, event: Event) -> Movement:
        increment = event.authorized - self.authorized
        self.authorized = event.authorized
        self.entries_authorized += increment
        return Movement(INCREMENT, increment, event.reference)

    def _supplemented(self, event: Event) -> Movement:
        self.authorized += event.amount
        self.entries_authorized += event.amount
        return Movement(AUTHORIZATION, event.amount, event.payment_intent_id)

    def _amount_changed(self, event: Event) -> None:
        self.amount = event.amount

    def _scheduled(self, event: Event) -> None:
        self.capture_due_at = event.due_at

    def _failed(self, event: Event) -> None:
        self.capture_attempts = event.attempt
        self.capture_failed = event.final

    def _captured(self, event: Event) -> Movement:
        self.captured = event.amount
        self.captures += 1
        self.entries_captured += event.amount
        return Movement(CAPTURE, event.amount, event.reference)

    def _refunded(self, event: Event) -> Movement:
        self.refunded += event.amount
        self.entries_refunded += event.amount
        return Movement(REFUND, event.amount, event.reference)

    def _voided(self, event: Event) -> Movement:
        self.voided = True
        return Movement(VOID, self.authorized, event.reference)

    def _dispute_opened(self, event: Event) -> Movement:
        self.disputed += event.amount
        return Movement(DISPUTE, event.amount, event.dispute_id)

    def _dispute_closed(self, event: Event) -> Movement:
        self.disputed = max(self.disputed - event.amount, 0)
        if event.outcome == LOST:
            self.dispute_lost += event.amount
            return Movement(DISPUTE_LOST, event.amount, event.dispute_id)
        return Movement(DISPUTE_WON, event.amount, event.dispute_id)


_HANDLERS: dict[type, Any] = {
    Order.Placed: OrderMoney._placed,
    Order.LineItemAdded: OrderMoney._line_added,
    Order.LineItemQuantityChanged: OrderMoney._quantity_changed,
    Order.LineItemRemoved: OrderMoney._line_removed,
    Order.Captured: lambda m, e: m._order_closed("captured"),
    Order.Canceled: lambda m, e: m._order_closed("canceled"),
    PaymentCollection.Created: OrderMoney._created,
    PaymentCollection.Authorized: OrderMoney._authorized,
    PaymentCollection.AuthorizationIncreased: OrderMoney._increased,
    PaymentCollection.SupplementaryAuthorized: OrderMoney._supplemented,
    PaymentCollection.AmountChanged: OrderMoney._amount_changed,
    PaymentCollection.CaptureScheduled: OrderMoney._scheduled,
    PaymentCollection.CaptureFailed: OrderMoney._failed,
    PaymentCollection.CaptureSucceeded: OrderMoney._captured,
    PaymentCollection.Refunded: OrderMoney._refunded,
    PaymentCollection.Voided: OrderMoney._voided,
    PaymentCollection.DisputeOpened: OrderMoney._dispute_opened,
    PaymentCollection.DisputeClosed: OrderMoney._dispute_closed,
}
