"""The notifier: follows the log and decides, once per event, which e-mails it calls for.

- ``Order.Placed`` → order confirmation (customer)
- ``Order.Changed`` → order changed (customer)
- ``PaymentCollection.CaptureSucceeded`` → receipt (customer)
- ``PaymentCollection.Refunded`` → refund issued (customer)
- ``InventoryLevel.Backordered`` → backorder alert (ops)
- ``PaymentCollection.CaptureFailed`` with ``final`` → capture failure alert (ops)

A page of decisions is recorded together with the notifier's position in one
transaction, and each e-mail's id is the event's notification id plus its kind, so
reading the log again — by this notifier or by another — decides nothing twice.
Aggregates are read as of the event's version, so the e-mail says what was true then.
"""

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from commands.ledger import Ledger
from commands.notify import messages
from commands.notify.ports import DeliveryLog, Email
from domain.erasure import ERASED
from domain.inventory_level import InventoryLevel
from domain.order import Order
from domain.payment_collection import PaymentCollection

log = logging.getLogger(__name__)

FOLLOWER = "notifier"
PAGE_SIZE = 500

ORDER_CONFIRMATION = "order_confirmation"
ORDER_CHANGED = "order_changed"
PAYMENT_RECEIPT = "payment_receipt"
REFUND_ISSUED = "refund_issued"
BACKORDER_ALERT = "backorder_alert"
CAPTURE_FAILED_ALERT = "capture_failed_alert"

A = TypeVar("A", bound=Aggregate)
Decision = tuple[str, str, messages.Message, UUID | None]  # kind, recipient, message, order
Decide = Callable[["Notifier", Any], list[Decision]]


class Notifier:
    def __init__(
        self,
        ledger: Ledger,
        deliveries: DeliveryLog,
        clock: Callable[[], datetime],
        *,
        ops_email: str | None,
        follower: str = FOLLOWER,
        from_start: bool = False,
    ) -> None:
        """``from_start``: a notifier that has never run reads the whole log; by default it
        starts at the log's head, so turning notifications on for a shop with a history
        does not mail every customer about every order they ever placed."""
        self._ledger = ledger
        self._deliveries = deliveries
        self._clock = clock
        self._ops_email = ops_email
        self.follower = follower
        self._begun = from_start

    def run_once(self) -> int:
        """Decide on one page of the log; returns how many notifications it read."""
        if not self._begun:
            self._deliveries.begin(self.follower, self._ledger.head)
            self._begun = True
        after = self._deliveries.position(self.follower)
        page: Sequence[Notification] = self._ledger.recorder.select_notifications(
            start=after + 1, limit=PAGE_SIZE
        )
        if not page:
            return 0
        emails = [email for notification in page for email in self.decide(notification)]
        recorded = self._deliveries.record(
            emails, follower=self.follower, after=after, up_to=page[-1].id, now=self._clock()
        )
        if not recorded:
            log.debug("notifications after %s were decided by another notifier", after)
        return len(page)

    def catch_up(self) -> int:
        total = 0
        while read := self.run_once():
            total += read
        return total

    def decide(self, notification: Notification) -> list[Email]:
        """The e-mails one notification calls for (none for most)."""
        decide = _DECIDERS.get(notification.topic)
        if decide is None:
            return []
        event = self._ledger.mapper.to_domain_event(notification)
        try:
            decisions = decide(self, event)
        except AggregateNotFoundError:
            log.warning("notification %s names an aggregate that is gone", notification.id)
            return []
        return [
            Email(
                notification_id=notification.id,
                kind=kind,
                recipient=recipient,
                subject=message.subject,
                text=message.text(),
                html=message.html(),
                # Derived from the event itself (not its position in this database),
                # so a retry after a crash, or another worker, sends at most once.
                idempotency_key=f"notif-{event.originator_id}-{event.originator_version}-{kind}",
                order_id=order_id,
            )
            for kind, recipient, message, order_id in decisions
            # An erased customer's e-mail reads [erased]: nobody to write to.
            if recipient != ERASED
        ]

    # --- one decision per event type ----------------------------------------------------

    def _as_of(self, kind: type[A], aggregate_id: UUID, version: int | None = None) -> A:
        aggregate: Aggregate = self._ledger.repository.get(aggregate_id, version=version)
        if not isinstance(aggregate, kind):
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def _ops(self, kind: str, message: messages.Message, order: UUID | None) -> list[Decision]:
        if self._ops_email is None:
            log.info("no OPS_EMAIL: %s not sent (%s)", kind, message.subject)
            return []
        return [(kind, self._ops_email, message, order)]

    def _placed(self, event: Order.Placed) -> list[Decision]:
        order = self._as_of(Order, event.originator_id, event.originator_version)
        return [(ORDER_CONFIRMATION, order.email, messages.order_confirmation(order), order.id)]

    def _changed(self, event: Order.Changed) -> list[Decision]:
        order = self._as_of(Order, event.originator_id, event.originator_version)
        message = messages.order_changed(order, event.previous_total)
        return [(ORDER_CHANGED, order.email, message, order.id)]

    def _captured(self, event: PaymentCollection.CaptureSucceeded) -> list[Decision]:
        payment = self._as_of(PaymentCollection, event.originator_id, event.originator_version)
        order = self._as_of(Order, payment.order_id)
        message = messages.payment_receipt(order, payment, event.amount)
        return [(PAYMENT_RECEIPT, order.email, message, order.id)]

    def _refunded(self, event: PaymentCollection.Refunded) -> list[Decision]:
        payment = self._as_of(PaymentCollection, event.originator_id, event.originator_version)
        order = self._as_of(Order, payment.order_id)
        message = messages.refund_issued(order, payment, event.amount)
        return [(REFUND_ISSUED, order.email, message, order.id)]

    def _capture_failed(self, event: PaymentCollection.CaptureFailed) -> list[Decision]:
        if not event.final:
            return []
        payment = self._as_of(PaymentCollection, event.originator_id, event.originator_version)
        message = messages.capture_failure_alert(payment, event.reason, event.attempt)
        return self._ops(CAPTURE_FAILED_ALERT, message, payment.order_id)

    def _backordered(self, event: InventoryLevel.Backordered) -> list[Decision]:
        level = self._as_of(InventoryLevel, event.originator_id, event.originator_version)
        message = messages.backorder_alert(level, event.shortfall, event.order_id)
        return self._ops(BACKORDER_ALERT, message, _uuid_or_none(event.order_id))


def _uuid_or_none(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


_DECIDERS: dict[str, Decide] = {
    get_topic(Order.Placed): Notifier._placed,
    get_topic(Order.Changed): Notifier._changed,
    get_topic(PaymentCollection.CaptureSucceeded): Notifier._captured,
    get_topic(PaymentCollection.Refunded): Notifier._refunded,
    get_topic(PaymentCollection.CaptureFailed): Notifier._capture_failed,
    get_topic(InventoryLevel.Backordered): Notifier._backordered,
}
