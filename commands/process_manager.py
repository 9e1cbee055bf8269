"""The process manager: follows the log and decides what must happen next.

- on an authorization, records when the capture is due (and sets the prompt timer);
- on a reservation that takes a backorder-enabled level below zero, records the
  shortfall as ``InventoryLevel.Backordered`` (and tells whoever listens).

What it decides is saved together with its tracking position, so an event read
twice decides nothing twice.
"""

import logging
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification
from eventsourcing.utils import get_topic

from commands.capture import capture_due_at
from commands.services import Services
from domain.inventory_level import InventoryLevel
from domain.payment_collection import PaymentCollection

log = logging.getLogger(__name__)

FOLLOWER = "process_manager"
PAGE_SIZE = 500

_AUTHORIZED = get_topic(PaymentCollection.Authorized)
_RESERVED = get_topic(InventoryLevel.StockReserved)
_BACKORDERED = get_topic(InventoryLevel.Backordered)


class ProcessManager:
    def __init__(
        self,
        services: Services,
        on_backorder: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._services = services
        self._on_backorder = on_backorder

    def run_once(self) -> int:
        """Handle one page of the log; returns how many notifications were consumed."""
        ledger = self._services.ledger
        position = ledger.followed_up_to(FOLLOWER)
        notifications: Sequence[Notification] = ledger.recorder.select_notifications(
            start=position + 1, limit=PAGE_SIZE
        )
        if not notifications:
            return 0
        skipped: int | None = None
        for notification in notifications:
            if self._handle_once(notification):
                skipped = None
            else:
                skipped = notification.id
        if skipped is not None:
            # Nothing to decide at the end of the page: only the position moves on.
            with suppress(IntegrityError):
                ledger.save_tracked(follower=FOLLOWER, position=skipped)
        return len(notifications)

    def catch_up(self) -> int:
        total = 0
        while consumed := self.run_once():
            total += consumed
        return total

    def _handle_once(self, notification: Notification, attempts: int = 8) -> bool:
        """Handle a notification whose decision has not been saved yet.

        A conflict means either another process manager saved this position (its
        decision stands) or a command changed the same aggregate meanwhile (decide
        again on the new state).
        """
        for _ in range(attempts):
            try:
                return self._handle(notification)
            except IntegrityError:
                if self._services.ledger.followed_up_to(FOLLOWER) >= notification.id:
                    log.debug("notification %s handled elsewhere", notification.id)
                    return True
        raise RuntimeError(f"could not decide on notification {notification.id}")

    def _handle(self, notification: Notification) -> bool:
        """Decide on one notification; False when it needs no decision (nothing saved)."""
        ledger = self._services.ledger
        topic = notification.topic
        if topic == _AUTHORIZED:
            self._schedule_capture(notification)
            return True
        if topic == _RESERVED:
            return self._check_backorder(notification)
        if topic == _BACKORDERED and self._on_backorder is not None:
            event = ledger.mapper.to_domain_event(notification)
            self._on_backorder(
                {
                    "inventory_level_id": str(event.originator_id),
                    "order_id": getattr(event, "order_id", ""),
                    "shortfall": getattr(event, "shortfall", 0),
                }
            )
        return False

    def _schedule_capture(self, notification: Notification) -> None:
        services = self._services
        event = services.ledger.mapper.to_domain_event(notification)
        payment = services.ledger.get_or_none(event.originator_id, PaymentCollection)
        if (
            payment is None
            or payment.is_captured
            or payment.voided
            or payment.authorized_at is None
        ):
            services.ledger.save_tracked(follower=FOLLOWER, position=notification.id)
            return
        due_at = capture_due_at(services, payment.authorized_at, payment.capture_before)
        payment.schedule_capture(due_at, now=services.clock())
        services.ledger.save_tracked(payment, follower=FOLLOWER, position=notification.id)
        services.timers.set(payment.order_id, due_at, services.clock())

    def _check_backorder(self, notification: Notification) -> bool:
        """Record the shortfall a reservation caused; False when there was none (no save)."""
        services = self._services
        ledger = services.ledger
        event = ledger.mapper.to_domain_event(notification)
        level_id: UUID = event.originator_id
        version: int = event.originator_version
        # The level as the reservation left it; before it, `quantity` more were available.
        after: InventoryLevel = ledger.repository.get(level_id, version=version)
        if not after.allow_backorder or after.available >= 0:
            return False
        available_before = after.available + int(getattr(event, "quantity", 0))
        shortfall = max(-after.available, 0) - max(-available_before, 0)
        level = ledger.get_or_none(level_id, InventoryLevel)
        if level is None or shortfall <= 0:
            return False
        level.record_backorder(
            shortfall=shortfall,
            order_id=str(getattr(event, "order_id", "")),
            reservation_version=version,
            now=services.clock(),
        )
        ledger.save_tracked(level, follower=FOLLOWER, position=notification.id)
        return True
