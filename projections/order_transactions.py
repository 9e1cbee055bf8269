"""One row per money movement: authorization, increment, capture, refund, void."""

from collections.abc import Sequence
from typing import Any

from domain.payment_collection import PaymentCollection
from projections.base import Event, Projector, Table, ViewStore
from projections.payment_lookup import PAYMENT_ORDERS, PaymentLookup

ORDER_TRANSACTIONS = Table(
    "order_transactions",
    {
        "id": "text",  # "<payment collection id>:<version>": one per event
        "order_id": "uuid",
        "payment_collection_id": "uuid",
        "kind": "text",
        "amount": "bigint",
        "currency": "text",
        "reference": "text",
        "created_at": "timestamptz",
    },
    indexes=("(order_id, created_at)", "(payment_collection_id)"),
    read_by=("(payment_collection_id)",),  # the authorized amount so far, per collection
)

_KINDS: dict[type, str] = {
    PaymentCollection.Authorized: "authorization",
    PaymentCollection.AuthorizationIncreased: "increment",
    PaymentCollection.SupplementaryAuthorized: "authorization",
    PaymentCollection.CaptureSucceeded: "capture",
    PaymentCollection.Refunded: "refund",
    PaymentCollection.Voided: "void",
    PaymentCollection.DisputeOpened: "dispute",
    PaymentCollection.DisputeClosed: "dispute_",  # + its outcome: dispute_won, dispute_lost
}


class OrderTransactionsProjector(Projector):
    name = "order_transactions"
    tables = (ORDER_TRANSACTIONS, PAYMENT_ORDERS)
    topics = (PaymentCollection.Created, *_KINDS)

    def __init__(self) -> None:
        self._payments = PaymentLookup()

    def project(self, events: Sequence[Event], store: ViewStore) -> None:
        self._payments.resolve(events, store)
        # Authorized amounts per collection, for increments and voids in this batch.
        pc_ids = {e.originator_id for e in events if type(e) in _KINDS}
        authorized = self._authorized_so_far(pc_ids, store)
        rows = []
        for event in events:
            kind = _KINDS.get(type(event))
            if kind is None:
                continue
            if isinstance(event, PaymentCollection.DisputeClosed):
                kind += event.outcome
            pc_id = event.originator_id
            amount = self._amount(event, authorized.get(pc_id, 0))
            if isinstance(event, PaymentCollection.Authorized):
                authorized[pc_id] = event.amount
            elif isinstance(event, PaymentCollection.AuthorizationIncreased):
                authorized[pc_id] = event.authorized
            elif isinstance(event, PaymentCollection.SupplementaryAuthorized):
                authorized[pc_id] = authorized.get(pc_id, 0) + event.amount
            rows.append(
                {
                    "id": f"{pc_id}:{event.originator_version}",
                    "order_id": self._payments.order_id(pc_id),
                    "payment_collection_id": pc_id,
                    "kind": kind,
                    "amount": amount,
                    "currency": self._payments.currency(pc_id),
                    "reference": getattr(event, "reference", None)
                    or getattr(event, "dispute_id", None)
                    or getattr(event, "payment_intent_id", ""),
                    "created_at": event.timestamp,
                }
            )
        store.upsert(ORDER_TRANSACTIONS.name, rows)

    @staticmethod
    def _amount(event: Event, authorized_before: int) -> int:
        if isinstance(event, PaymentCollection.AuthorizationIncreased):
            return int(event.authorized - authorized_before)
        if isinstance(event, PaymentCollection.Voided):
            return authorized_before
        return int(getattr(event, "amount", 0))

    @staticmethod
    def _authorized_so_far(pc_ids: set[Any], store: ViewStore) -> dict[Any, int]:
        if not pc_ids:
            return {}
        totals: dict[Any, int] = {}
        for row in store.rows_where(ORDER_TRANSACTIONS.name, "payment_collection_id", pc_ids):
            if row["kind"] in ("authorization", "increment"):
                key = row["payment_collection_id"]
                totals[key] = totals.get(key, 0) + row["amount"]
        return totals
