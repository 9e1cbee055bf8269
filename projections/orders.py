"""Order views: the storefront's PII-free summary and the admin's full detail."""

from collections.abc import Sequence
from functools import cached_property
from typing import Any

from projections.base import Event, Row, RowProjector, Table, ViewStore
from projections.order_fold import (
    ORDER_EVENTS,
    PAYMENT_EVENTS,
    fold_order,
    fold_payment,
    is_order_event,
    is_payment_event,
)
from projections.payment_lookup import PAYMENT_ORDERS, PaymentLookup

_COMMON = {
    "order_id": "uuid",
    "payment_intent_id": "text",
    "status": "text",
    "payment_status": "text",
    "currency": "text",
    "items": "jsonb",
    "shipping": "jsonb",
    "subtotal": "bigint",
    "shipping_total": "bigint",
    "tax_total": "bigint",
    "total": "bigint",
    "placed_at": "timestamptz",
    "editable_until": "timestamptz",
    "payment": "jsonb",
    "version": "integer",
    "updated_at": "timestamptz",
}

# No e-mail, address, name, token or client secret: safe for a public endpoint.
STOREFRONT_ORDERS = Table(
    "storefront_orders",
    _COMMON,
    indexes=("UNIQUE (payment_intent_id)",),
)

ADMIN_ORDERS = Table(
    "admin_orders",
    {**_COMMON, "cart_id": "text", "email": "text", "shipping_address": "jsonb"},
    indexes=("UNIQUE (payment_intent_id)", "(status, placed_at DESC)", "(placed_at DESC)"),
)


class _OrderView(RowProjector):
    topics = ORDER_EVENTS + PAYMENT_EVENTS

    def __init__(self) -> None:
        self._payments = PaymentLookup()

    def prepare(self, events: Sequence[Event], store: ViewStore) -> None:
        self._payments.resolve(events, store)

    def key_of(self, event: Event) -> Any | None:
        if is_order_event(type(event)):
            return event.originator_id
        if is_payment_event(type(event)):
            return self._payments.order_id(event.originator_id)
        return None

    def apply(self, event: Event, row: Row | None) -> Row | None:
        if is_order_event(type(event)):
            folded = fold_order(event, row)
        else:
            folded = fold_payment(event, row)
        if folded is None:
            return None
        if folded.keys() == self._columns:  # already exactly this view's row
            return folded
        return {column: folded.get(column) for column in self.table.columns}

    @cached_property
    def _columns(self) -> frozenset[str]:
        return frozenset(self.table.columns)


class StorefrontOrdersProjector(_OrderView):
    """Money states but no personal data; the public endpoint picks its fields from these."""

    name = "storefront_orders"
    tables = (STOREFRONT_ORDERS, PAYMENT_ORDERS)


class AdminOrdersProjector(_OrderView):
    name = "admin_orders"
    tables = (ADMIN_ORDERS, PAYMENT_ORDERS)
