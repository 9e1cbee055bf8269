"""One order's financial history replayed from its events, as it stands or as of any time."""

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.ids import payment_collection_id_for
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection
from queries.audit.fold import UNKNOWN, Event, Movement, OrderMoney, cause_of


@dataclass(frozen=True, slots=True)
class Running:
    """The totals after an event, in minor units."""

    order_total: int
    amount: int
    authorized: int
    captured: int
    refunded: int
    outstanding: int


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    aggregate: str  # "order" or "payment"
    event: str  # "PaymentCollection.CaptureSucceeded"
    version: int
    cause: str
    detail: str
    movement: Movement | None
    running: Running


@dataclass(frozen=True)
class OrderHistory:
    order_id: UUID
    payment_collection_id: UUID
    currency: str
    as_of: datetime | None
    order_status: str
    payment_status: str
    totals: Running
    entries: tuple[HistoryEntry, ...]

    @property
    def movements(self) -> list[HistoryEntry]:
        return [entry for entry in self.entries if entry.movement is not None]


def replay_order(
    order_id: UUID,
    order_events: Sequence[Event],
    payment_events: Sequence[Event],
    *,
    as_of: datetime | None = None,
) -> OrderHistory | None:
    """Fold the order's and its collection's events (each in version order), up to ``as_of``.

    The two histories are merged by time, the order's first where times are equal (it
    is saved first). None when nothing had happened to the order by then.
    """
    if as_of is not None:
        # A prefix of each aggregate's history: its versions, not its clock, are the truth.
        order_events = list(itertools.takewhile(lambda e: e.timestamp <= as_of, order_events))
        payment_events = list(itertools.takewhile(lambda e: e.timestamp <= as_of, payment_events))
    if not order_events and not payment_events:
        return None
    money = OrderMoney(order_id, payment_collection_id_for(order_id))
    causes = _Causes(order_events)
    entries = []
    merged = heapq.merge(
        ((e, "order") for e in order_events),
        ((e, "payment") for e in payment_events),
        key=lambda pair: pair[0].timestamp,
    )
    for event, aggregate in merged:
        currency_before = money.currency
        movement = money.apply(event)
        entries.append(
            HistoryEntry(
                at=event.timestamp,
                aggregate=aggregate,
                event=type(event).__qualname__,
                version=event.originator_version,
                cause=causes.of(event),
                detail=_detail(event, money.currency or currency_before),
                movement=movement,
                running=_running(money),
            )
        )
    return OrderHistory(
        order_id=order_id,
        payment_collection_id=money.payment_collection_id,
        currency=money.currency,
        as_of=as_of,
        order_status=money.order_status or "unknown",
        payment_status=money.payment_status,
        totals=_running(money),
        entries=tuple(entries),
    )


def _running(money: OrderMoney) -> Running:
    return Running(
        order_total=money.total,
        amount=money.amount,
        authorized=money.authorized,
        captured=money.captured,
        refunded=money.refunded,
        outstanding=money.outstanding,
    )


class _Causes:
    """Who or what caused each event, from what the events record.

    Order events name their cause. A payment event does not: the authorization is
    caused by whoever placed the order, an increment or amount change by the order
    change it follows, a void by whoever canceled the order (saved together). Captures
    and refunds record no cause: "unknown".
    """

    def __init__(self, order_events: Sequence[Event]) -> None:
        self._placed_by = UNKNOWN
        self._canceled_by = UNKNOWN
        self._last_change = UNKNOWN
        for event in order_events:
            if isinstance(event, Order.Placed):
                self._placed_by = event.placed_by
            elif isinstance(event, Order.Canceled):
                self._canceled_by = event.canceled_by

    def of(self, event: Event) -> str:
        source = getattr(event, "source", "ledger")
        if source != "ledger" and not isinstance(event, PaymentCollection.Voided):
            return str(source)  # money moved at Stripe: a webhook or reconcile recorded it
        cause = cause_of(event)
        if cause is not None:
            if hasattr(event, "changed_by"):
                self._last_change = cause
            return cause
        if isinstance(event, PaymentCollection.Created | PaymentCollection.Authorized):
            return self._placed_by
        if isinstance(
            event,
            PaymentCollection.AuthorizationIncreased
            | PaymentCollection.SupplementaryAuthorized
            | PaymentCollection.AmountChanged,
        ):
            return self._last_change
        if isinstance(event, PaymentCollection.Voided):
            return self._canceled_by
        return UNKNOWN


def _detail(event: Event, currency: str) -> str:
    def money(amount: int) -> str:
        return str(Money(amount, currency)) if currency else str(amount)

    match event:
        case Order.Placed():
            return f"{len(event.lines)} line(s), {'with' if event.shipping else 'no'} shipping"
        case Order.LineItemAdded():
            line = event.line
            return f"line {line['id']} added: {line['quantity']} × {line['title']}"
        case Order.LineItemQuantityChanged():
            return f"line {event.line_id}: quantity {event.quantity}"
        case Order.LineItemRemoved():
            return f"line {event.line_id} removed"
        case Order.Changed():
            return f"total {money(event.previous_total)} → {money(event.total)}"
        case Order.Captured():
            return f"order captured for {money(event.amount)}"
        case Order.Canceled():
            return str(event.reason)
        case PaymentCollection.Created():
            return f"collection opened for {money(event.amount)}"
        case PaymentCollection.Authorized():
            lapses = event.capture_before
            return f"hold placed; capture before {lapses.isoformat()}" if lapses else "hold placed"
        case PaymentCollection.AmountChanged():
            return f"amount set to {money(event.amount)}"
        case PaymentCollection.CaptureScheduled():
            return f"capture due {event.due_at.isoformat()}"
        case PaymentCollection.CaptureFailed():
            final = ", final" if event.final else ""
            return f"attempt {event.attempt}{final}: {event.reason}"
        case PaymentCollection.Refunded() | PaymentCollection.Voided():
            return str(event.reason)
        case PaymentCollection.DisputeOpened():
            return f"dispute {event.dispute_id} opened: {money(event.amount)} withdrawn"
        case PaymentCollection.DisputeClosed():
            return f"dispute {event.dispute_id} {event.outcome}: {money(event.amount)}"
    return ""


# --- JSON -----------------------------------------------------------------------------------


def _money(amount: int, currency: str) -> dict[str, Any]:
    major = Money(amount, currency).to_major() if currency else None
    return {"minor": amount, "major": major}


def _running_json(running: Running, currency: str) -> dict[str, Any]:
    return {
        name: _money(getattr(running, name), currency)
        for name in ("order_total", "amount", "authorized", "captured", "refunded", "outstanding")
    }


def history_json(history: OrderHistory) -> dict[str, Any]:
    """The history as JSON: every amount as ``{"minor": 2500, "major": "25.00"}``."""
    currency = history.currency
    movements = []
    events = []
    for entry in history.entries:
        movement = entry.movement
        running = _running_json(entry.running, currency)
        events.append(
            {
                "at": entry.at.isoformat(),
                "aggregate": entry.aggregate,
                "event": entry.event,
                "version": entry.version,
                "cause": entry.cause,
                "detail": entry.detail,
                "kind": movement.kind if movement else None,
                "running": running,
            }
        )
        if movement is not None:
            movements.append(
                {
                    "at": entry.at.isoformat(),
                    "kind": movement.kind,
                    "amount": _money(movement.amount, currency),
                    "currency": currency,
                    "reference": movement.reference,
                    "cause": entry.cause,
                    "version": entry.version,
                    **{
                        k: running[k] for k in ("authorized", "captured", "refunded", "outstanding")
                    },
                }
            )
    return {
        "order_id": str(history.order_id),
        "payment_collection_id": str(history.payment_collection_id),
        "currency": currency,
        "as_of": history.as_of.isoformat() if history.as_of else None,
        "order_status": history.order_status,
        "payment_status": history.payment_status,
        "totals": _running_json(history.totals, currency),
        "movements": movements,
        "events": events,
    }
