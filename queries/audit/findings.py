"""What verify finds: the rules, a violation naming the events involved, the report."""

from dataclasses import dataclass, field
from typing import Any, Final
from uuid import UUID

from queries.audit.fold import ORDER_EVENTS, PAYMENT_EVENTS, Event
from queries.audit.summary import Summary

RULES: Final = {
    "capture_exceeds_authorized": "captured more than was authorized",
    "refund_exceeds_captured": "refunded more than was captured",
    "capture_differs_from_total": "captured amount differs from the order total",
    "amount_differs_from_total": "collection amount differs from the order total",
    "capture_after_void": "captured after the hold was voided",
    "refund_after_void": "refunded after the hold was voided",
    "void_after_capture": "voided after the capture",
    "captured_twice": "captured more than once",
    "order_changed_after_close": "order changed after its capture or cancellation",
    "change_total_differs": "the order's change records a total its lines do not give",
    "entries_differ_from_totals": "transaction entries do not add up to the totals",
    "view_differs": "views.order_transactions differs from the events",
    "capture_overdue": "capture due but neither captured nor explained",
    "collection_without_order": "payment collection without an order",
    "order_without_collection": "order without a payment collection",
}


@dataclass(frozen=True)
class Violation:
    order_id: UUID | None
    payment_collection_id: UUID
    rule: str
    detail: str
    events: tuple[str, ...]  # "#812 PaymentCollection.CaptureSucceeded"

    def __str__(self) -> str:
        involved = ", ".join(self.events) or "-"
        return f"order {self.order_id}: {self.rule}: {self.detail} [events: {involved}]"


@dataclass
class VerifyReport:
    head: int
    events: int
    orders: int
    collections: int
    view_position: int | None
    summary: Summary
    violations: dict[str, int] = field(default_factory=dict)

    @property
    def violation_count(self) -> int:
        return sum(self.violations.values())

    @property
    def ok(self) -> bool:
        return self.violation_count == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "head": self.head,
            "events": self.events,
            "orders": self.orders,
            "collections": self.collections,
            "view_position": self.view_position,
            "violations": self.violation_count,
            "violations_by_rule": dict(sorted(self.violations.items())),
            "currencies": self.summary,
        }


_CLASSES: Final = (*ORDER_EVENTS, *PAYMENT_EVENTS)
_CODES: Final = {cls: code for code, cls in enumerate(_CLASSES)}


def ref(nid: int, event: Event) -> int:
    """An event named by one int (notification id and type): a string per order is costly."""
    return nid << 6 | _CODES[type(event)]


def label(ref: int) -> str:
    return f"#{ref >> 6} {_CLASSES[ref & 63].__qualname__}"
