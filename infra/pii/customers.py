"""Export and erase what the ledger holds about one customer, named by e-mail.

Erasure destroys the customer's data keys (every sealed field of theirs then reads
``[erased]``, in replay, rebuilds, snapshots and every process), scrubs the views and
the e-mail log that hold copies in clear, and records a ``PersonalDataErasure.Erased``
event that names the customer by subject id only. Money, quantities, ids and times
are untouched, so the books verify as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.ledger import Ledger
from domain.cart import Cart
from domain.erasure import PersonalDataErasure, check_erasable, erasure_id_for
from domain.order import PLACED, Order
from domain.review import Review
from infra.pg import Pool
from infra.pii.crypto import ERASED, normalise_email
from infra.pii.mapper import PersonalData


class Customers:
    def __init__(
        self, ledger: Ledger, pool: Pool, personal: PersonalData, clock: Callable[[], datetime]
    ) -> None:
        self._ledger = ledger
        self._pool = pool
        self._personal = personal
        self._clock = clock

    def _holdings(self, email: str) -> tuple[str, list[str], dict[UUID, Aggregate]]:
        subject = self._personal.master.subject_of_email(email)
        keys = self._personal.keys
        aggregate_ids = keys.aggregates_of([subject])
        subjects = [
            subject,
            *sorted({s for a in aggregate_ids for s in keys.subjects_of(a) if s.startswith("a_")}),
        ]
        found = self._ledger.get_all(*(UUID(a) for a in aggregate_ids))
        return subject, subjects, found

    def export(self, email: str) -> dict[str, Any]:
        """Everything held about the customer, as JSON-ready data."""
        subject, _, found = self._holdings(email)
        orders, carts, reviews = [], [], []
        for _, aggregate in sorted(found.items(), key=lambda kv: str(kv[0])):
            if isinstance(aggregate, Order):
                orders.append(_order(aggregate))
            elif isinstance(aggregate, Cart):
                carts.append(_cart(aggregate))
            elif isinstance(aggregate, Review):
                reviews.append(_review(aggregate))
        order_ids = [o["id"] for o in orders]
        return {
            "subject_id": subject,
            "orders": orders,
            "carts": carts,
            "reviews": reviews,
            "emails": self._emails(email, order_ids),
        }

    def erase(self, email: str, *, requested_by: str) -> dict[str, Any]:
        """Erase the customer; a second erasure finds nothing left and changes nothing."""
        now = self._clock()
        subject, subjects, found = self._holdings(email)
        orders = [a for a in found.values() if isinstance(a, Order)]
        check_erasable([(str(o.id), o.editable_until) for o in orders if o.status == PLACED], now)
        keys = self._personal.keys
        live = [s for s in subjects if keys.has_live_key(s)]
        order_ids = [str(o.id) for o in orders]
        review_ids = [str(a.id) for a in found.values() if isinstance(a, Review)]
        scrubbed = self._scrub(email, order_ids, review_ids)
        if not live:
            return {"erased": False, "subject_id": subject, "detail": "Nothing left to erase."}
        erasure = self._ledger.get_or_none(erasure_id_for(subject), PersonalDataErasure)
        if erasure is None:
            erasure = PersonalDataErasure.start(subject, now)
        erasure.record(
            requested_by=requested_by,
            aggregate_ids=[str(a) for a in found],
            keys_destroyed=len(live),
            now=now,
        )
        self._ledger.save_all(erasure)
        destroyed = keys.destroy(subjects, now)
        self._ledger.cache.clear()  # her cart held in clear (other processes: NOTIFY)
        return {
            "erased": True,
            "subject_id": subject,
            "orders": sorted(order_ids),
            "keys_destroyed": destroyed,
            "rows_scrubbed": scrubbed,
        }

    def _emails(self, email: str, order_ids: list[str]) -> list[dict[str, Any]]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT kind, recipient, subject, status, created_at FROM orderledger.notifications"
                " WHERE recipient <> %s AND (lower(recipient) = %s OR order_id::text = ANY(%s))"
                " ORDER BY created_at",
                (ERASED, normalise_email(email), order_ids),
            ).fetchall()
        return [
            {"kind": r[0], "to": r[1], "subject": r[2], "status": r[3], "at": r[4].isoformat()}
            for r in rows
        ]

    def _scrub(self, email: str, order_ids: list[str], review_ids: list[str]) -> int:
        """Overwrite the copies in clear: admin order view, reviews view, e-mail log."""
        scrubbed = 0
        with self._pool.connection() as conn:
            for statement, params in (
                (
                    "UPDATE views.admin_orders SET email = %s, shipping_address = (SELECT"
                    " jsonb_object_agg(k, %s::text) FROM jsonb_object_keys(shipping_address) k)"
                    " WHERE order_id::text = ANY(%s) AND email IS DISTINCT FROM %s",
                    (ERASED, ERASED, order_ids, ERASED),
                ),
                (
                    "UPDATE views.reviews SET author_name = %s"
                    " WHERE review_id::text = ANY(%s) AND author_name <> %s",
                    (ERASED, review_ids, ERASED),
                ),
                (
                    "UPDATE orderledger.notifications SET recipient = %s, subject = %s, text_body = %s,"
                    " html_body = %s WHERE recipient <> %s"
                    " AND (lower(recipient) = %s OR order_id::text = ANY(%s))",
                    (ERASED, ERASED, ERASED, ERASED, ERASED, normalise_email(email), order_ids),
                ),
            ):
                scrubbed += conn.execute(statement, params).rowcount
        return scrubbed


def _order(order: Order) -> dict[str, Any]:
    return {
        "id": str(order.id),
        "email": order.email,
        "shipping_address": order.shipping_address,
        "status": order.status,
        "currency": order.currency,
        "total": order.total,
        "placed_at": order.created_on.isoformat(),
    }


def _cart(cart: Cart) -> dict[str, Any]:
    return {
        "id": str(cart.id),
        "email": cart.email,
        "shipping_address": cart.shipping_address,
        "billing_address": cart.billing_address,
    }


def _review(review: Review) -> dict[str, Any]:
    return {
        "id": str(review.id),
        "product_id": review.product_id,
        "author_name": review.author_name,
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
    }
