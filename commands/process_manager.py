"""The process manager: follows the log and decides what must happen next.

- on an authorization, records when the capture is due (and sets the prompt timer);
- on a reservation that takes a backorder-enabled level below zero, records the
  shortfall as ``InventoryLevel.Backordered`` (and tells whoever listens);
- on an order's line changes or cancellation (and on a verified review's
  submission), re-assesses whether its reviews are still verified purchases.

What it decides is saved together with its tracking position, so an event read
twice decides nothing twice.
"""

import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.utils import get_topic

from commands.review_verification import reassess_reviews
from commands.services import Services
from domain.capture_timing import capture_due_at
from domain.inventory_level import InventoryLevel, shortfall_of
from domain.order import Order
from domain.payment_collection import PaymentCollection
from domain.review import Review

log = logging.getLogger(__name__)

FOLLOWER = "process_manager"
PAGE_SIZE = 500

_AUTHORIZED = get_topic(PaymentCollection.Authorized)
_RESERVED = get_topic(InventoryLevel.StockReserved)
_BACKORDERED = get_topic(InventoryLevel.Backordered)
_REMOVED = get_topic(Order.LineItemRemoved)
# (A capture changes neither lines nor status-for-reviews: no reason to look again.)
# A review naming an order is re-assessed when the order's lines change, when it is
# canceled, and when it is captured (verified purchases are captured ones).
_ORDER_CHANGES = frozenset(
    {
        _REMOVED,
        get_topic(Order.LineItemAdded),
        get_topic(Order.Canceled),
        get_topic(Order.Captured),
    }
)
_REVIEWED = get_topic(Review.Submitted)

A = TypeVar("A", bound=Aggregate)


class ProcessManager:
    def __init__(
        self,
        services: Services,
        on_backorder: Callable[[dict[str, Any]], None] | None = None,
        *,
        follower: str = FOLLOWER,
    ) -> None:
        self._services = services
        self._on_backorder = on_backorder
        self.follower = follower

    def run_once(self) -> int:
        """Handle one page of the log; returns how many notifications were consumed.

        The page's decisions are saved in one transaction with the page's last
        position. If another writer changed one of those aggregates meanwhile (a
        command, or another process manager), the page is decided again one
        notification at a time, each on the state that won.
        """
        ledger = self._services.ledger
        position = ledger.followed_up_to(self.follower)
        notifications: Sequence[Notification] = ledger.recorder.select_notifications(
            start=position + 1, limit=PAGE_SIZE
        )
        if not notifications:
            return 0
        try:
            self._decide_page(notifications)
        except IntegrityError:
            log.debug("page after %s conflicted; deciding one at a time", position)
            self._one_at_a_time(notifications)
        return len(notifications)

    def catch_up(self) -> int:
        total = 0
        while consumed := self.run_once():
            total += consumed
        return total

    def _decide_page(self, notifications: Sequence[Notification]) -> None:
        decisions = Decisions()
        for notification in notifications:
            self._decide(notification, decisions)
        self._services.ledger.save_tracked(
            *decisions.aggregates.values(), follower=self.follower, position=notifications[-1].id
        )
        decisions.carry_out()

    def _one_at_a_time(self, notifications: Sequence[Notification]) -> None:
        skipped: int | None = None
        for notification in notifications:
            if self._handle_once(notification):
                skipped = None
            else:
                skipped = notification.id
        if skipped is not None:
            # Nothing to decide at the end of the page: only the position moves on.
            with suppress(IntegrityError):
                self._services.ledger.save_tracked(follower=self.follower, position=skipped)

    def _handle_once(self, notification: Notification, attempts: int = 8) -> bool:
        """Handle a notification whose decision has not been saved yet; False when it
        needed no decision (nothing saved).

        A conflict means either another process manager saved this position (its
        decision stands) or a command changed the same aggregate meanwhile (decide
        again on the new state).
        """
        ledger = self._services.ledger
        for _ in range(attempts):
            decisions = Decisions()
            self._decide(notification, decisions)
            if not decisions.aggregates:
                decisions.carry_out()
                return False
            try:
                ledger.save_tracked(
                    *decisions.aggregates.values(), follower=self.follower, position=notification.id
                )
            except IntegrityError:
                if ledger.followed_up_to(self.follower) >= notification.id:
                    log.debug("notification %s handled elsewhere", notification.id)
                    return True
                continue
            decisions.carry_out()
            return True
        raise RuntimeError(f"could not decide on notification {notification.id}")

    def _decide(self, notification: Notification, decisions: "Decisions") -> None:
        """Decide on one notification, adding to ``decisions`` (nothing when none is due)."""
        topic = notification.topic
        if topic == _AUTHORIZED:
            self._schedule_capture(notification, decisions)
        elif topic == _RESERVED:
            self._check_backorder(notification, decisions)
        elif topic == _BACKORDERED and self._on_backorder is not None:
            event = self._services.ledger.mapper.to_domain_event(notification)
            alert = {
                "inventory_level_id": str(event.originator_id),
                "order_id": getattr(event, "order_id", ""),
                "shortfall": getattr(event, "shortfall", 0),
            }
            on_backorder = self._on_backorder
            decisions.afterwards(lambda: on_backorder(alert))
        elif topic in _ORDER_CHANGES or topic == _REVIEWED:
            self._reassess_reviews(notification, decisions)

    def _reassess_reviews(self, notification: Notification, decisions: "Decisions") -> None:
        """A review stays a verified purchase only while its order still bought the product."""
        ledger = self._services.ledger
        event: Any = ledger.mapper.to_domain_event(notification)
        also: list[str] = []
        if notification.topic == _REVIEWED:
            if getattr(event, "order_id", None) is None:
                return
            order_id, also = event.order_id, [event.product_id]
        else:
            order_id = event.originator_id
        order = ledger.get_or_none(order_id, Order)
        if order is None:
            return
        ever_held = [line.variant_id for line in order.lines.values()]
        if notification.topic == _REMOVED:
            ever_held.append(event.variant_id or _removed_variant_from_history(ledger, event))

        def load(ids: list[UUID]) -> dict[UUID, Review]:
            found = {i: r for i in ids if (r := decisions.get(i, Review)) is not None}
            missing = [i for i in ids if i not in found]
            if missing:
                found.update(ledger.get_many(Review, *missing))
            return found

        for review in reassess_reviews(
            self._services,
            order,
            ever_held=ever_held,
            load=load,
            reason=f"order {order.status}, re-assessed at {notification.topic.rsplit('.', 1)[-1]}",
            also_products=also,
        ):
            decisions.changed(review)

    def _schedule_capture(self, notification: Notification, decisions: "Decisions") -> None:
        services = self._services
        event = services.ledger.mapper.to_domain_event(notification)
        payment = decisions.get(event.originator_id, PaymentCollection) or (
            services.ledger.get_or_none(event.originator_id, PaymentCollection)
        )
        if (
            payment is None
            or payment.is_captured
            or payment.voided
            or payment.authorized_at is None
        ):
            return
        due_at = capture_due_at(
            services.policy.capture, payment.authorized_at, payment.capture_before
        )
        payment.schedule_capture(due_at, now=services.clock())  # no event if already so
        decisions.changed(payment)
        order_id = payment.order_id
        decisions.afterwards(lambda: services.timers.set(order_id, due_at, services.clock()))

    def _check_backorder(self, notification: Notification, decisions: "Decisions") -> None:
        """Record the shortfall a reservation caused, if it caused one."""
        services = self._services
        ledger = services.ledger
        event = ledger.mapper.to_domain_event(notification)
        level_id: UUID = event.originator_id
        version: int = event.originator_version
        shortfall = getattr(event, "shortfall", None)  # the reservation says it went short
        if shortfall is None:  # recorded before reservations said so
            shortfall = _shortfall_from_history(ledger, event)
        if shortfall <= 0:
            return
        level = decisions.get(level_id, InventoryLevel) or ledger.get_or_none(
            level_id, InventoryLevel
        )
        if level is None:
            return
        level.record_backorder(  # once per reservation: no event if already recorded
            shortfall=shortfall,
            order_id=str(getattr(event, "order_id", "")),
            reservation_version=version,
            now=services.clock(),
        )
        decisions.changed(level)


def _removed_variant_from_history(ledger: Any, event: Any) -> str:
    """For a removal stored before ``LineItemRemoved.variant_id``: the line as it stood."""
    before: Order = ledger.repository.get(event.originator_id, version=event.originator_version - 1)
    variant: str = before.lines[event.line_id].variant_id
    return variant


def _shortfall_from_history(ledger: Any, event: Any) -> int:
    """For a reservation stored before ``StockReserved.shortfall``: the level as it left it."""
    after: InventoryLevel = ledger.repository.get(
        event.originator_id, version=event.originator_version
    )
    if not after.allow_backorder or after.available >= 0:
        return 0
    return shortfall_of(after.available + int(getattr(event, "quantity", 0)), event.quantity)


class Decisions:
    """What a page (or one notification) decided: the aggregates with new events, each
    loaded once however many of the page's events concern it, and what to do once they
    are saved (set timers, tell listeners)."""

    def __init__(self) -> None:
        self.aggregates: dict[UUID, Aggregate] = {}
        self._afterwards: list[Callable[[], object]] = []

    def get(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        aggregate = self.aggregates.get(aggregate_id)
        return aggregate if isinstance(aggregate, kind) else None

    def changed(self, aggregate: Aggregate) -> None:
        if aggregate.pending_events:
            self.aggregates[aggregate.id] = aggregate

    def afterwards(self, effect: Callable[[], object]) -> None:
        self._afterwards.append(effect)

    def carry_out(self) -> None:
        for effect in self._afterwards:
            try:
                effect()
            except Exception:  # a timer or an alert; the sweeper and the log cover for it
                log.exception("process manager: an after-save effect failed")
