"""Which order a payment collection belongs to.

Only ``PaymentCollection.Created`` names the order; later payment events carry
just the collection's id. Projections that key rows by order keep this small
lookup table among their own tables (so each rebuilds on its own).
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from domain.payment_collection import PaymentCollection
from projections.base import Event, Table, ViewStore
from projections.order_fold import is_payment_event

PAYMENT_ORDERS = Table(
    "payment_orders",
    {"payment_collection_id": "uuid", "order_id": "uuid", "currency": "text"},
)


class PaymentLookup:
    def __init__(self) -> None:
        self._orders: dict[UUID, dict[str, Any]] = {}

    def resolve(self, events: Sequence[Event], store: ViewStore) -> None:
        created = [e for e in events if isinstance(e, PaymentCollection.Created)]
        new_rows: list[dict[str, Any]] = [
            {
                "payment_collection_id": e.originator_id,
                "order_id": e.order_id,
                "currency": e.currency,
            }
            for e in created
        ]
        known: set[UUID] = {row["payment_collection_id"] for row in new_rows}
        wanted = {
            e.originator_id
            for e in events
            if is_payment_event(type(e)) and e.originator_id not in known
        }
        self._orders = dict(store.fetch(PAYMENT_ORDERS.name, wanted)) if wanted else {}
        for row in new_rows:
            self._orders[row["payment_collection_id"]] = row
        if new_rows:
            store.upsert(PAYMENT_ORDERS.name, new_rows)

    def order_id(self, payment_collection_id: UUID) -> UUID | None:
        row = self._orders.get(payment_collection_id)
        return row["order_id"] if row else None

    def currency(self, payment_collection_id: UUID) -> str | None:
        row = self._orders.get(payment_collection_id)
        return row["currency"] if row else None
