"""The reconcile use case over an in-memory ledger and an in-memory Stripe (fakes injected).

Given what Stripe shows and what the ledger holds, When reconcile runs, Then the
settled facts are recorded once, orphan holds released, and the rest reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

from commands.ledger import Ledger
from commands.ports import PaymentGateway, PaymentIntent
from commands.reconcile.findings import RECORDED, RELEASED, REPORTED
from commands.reconcile.run import ReconcilePolicy, reconcile
from commands.reconcile.stripe_records import (
    StripeDispute,
    StripePayment,
    StripeRecordNotFound,
    StripeRefund,
)
from commands.services import Services
from domain.ids import order_id_for
from domain.money import Money
from domain.payment_collection import PaymentCollection
from infra.wiring import wire_services
from tests.unit.commands.fakes import SETTINGS
from tests.unit.domain.builders import a_line, place_order

NOW = datetime(2026, 3, 14, 12, tzinfo=UTC)
SINCE = NOW - timedelta(days=1)


@dataclass
class FakeStripe:
    """StripeRecords in memory, and the one write reconcile makes (cancel)."""

    payments: dict[str, StripePayment] = field(default_factory=dict)
    refunds: list[StripeRefund] = field(default_factory=list)
    disputes: list[StripeDispute] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)

    def payment(self, payment_intent_id: str) -> StripePayment:
        if payment_intent_id not in self.payments:
            raise StripeRecordNotFound(payment_intent_id)
        return self.payments[payment_intent_id]

    def refunds_of(self, payment_intent_id: str) -> list[StripeRefund]:
        return [r for r in self.refunds if r.payment_intent_id == payment_intent_id]

    def disputes_of(self, payment_intent_id: str) -> list[StripeDispute]:
        return [d for d in self.disputes if d.payment_intent_id == payment_intent_id]

    def dispute(self, dispute_id: str) -> StripeDispute:
        return next(d for d in self.disputes if d.id == dispute_id)

    def payments_since(self, since: datetime) -> Iterator[StripePayment]:
        return (p for p in self.payments.values() if p.created >= since)

    def refunds_since(self, since: datetime) -> Iterator[StripeRefund]:
        return (r for r in self.refunds if r.created >= since)

    def disputes_since(self, since: datetime) -> Iterator[StripeDispute]:
        return (d for d in self.disputes if d.created >= since)

    def cancel_payment_intent(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> PaymentIntent:
        self.canceled.append(payment_intent_id)
        p = self.payments[payment_intent_id]
        self.payments[payment_intent_id] = replace(p, status="canceled", amount_capturable=0)
        return PaymentIntent(id=p.id, status="canceled", amount=p.amount, currency=p.currency)


class NoLocks:
    def hold(self, name: str) -> AbstractContextManager[None]:
        return nullcontext()


class Alerts:
    def alert(self, subject: str, text: str) -> None:
        raise AssertionError("reconcile itself does not alert; its runner does")


@dataclass
class Shop:
    ledger: Ledger
    stripe: FakeStripe
    services: Services
    placed: list[tuple[UUID, str]] = field(default_factory=list)

    def placed_since(self, since: datetime) -> list[tuple[UUID, str]]:
        return self.placed

    def captured_order(self, intent_id: str) -> PaymentCollection:
        order = place_order([a_line(unit_price=2000)], payment_intent_id=intent_id, now=NOW)
        payment = PaymentCollection.open(
            order_id=order.id,
            amount=Money(order.total, "eur"),
            payment_intent_id=intent_id,
            now=NOW,
        )
        payment.authorize(order.total, reference=intent_id, capture_before=None, now=NOW)
        payment.capture(order.total, reference=intent_id, now=NOW)
        order.mark_captured(order.total, now=NOW)
        self.ledger.save_all(order, payment)
        self.placed.append((order.id, intent_id))
        self.stripe.payments[intent_id] = StripePayment(
            id=intent_id,
            status="succeeded",
            amount=order.total,
            currency="eur",
            created=NOW,
            amount_received=order.total,
            amount_captured=order.total,
            metadata={"cart_id": "c"},
        )
        return payment

    def reconcile(self, orphan_age: timedelta = timedelta(hours=1)) -> Any:
        return reconcile(
            self.services,
            self.stripe,
            self,
            since=SINCE,
            policy=ReconcilePolicy(orphan_age=orphan_age, concurrency=2),
        )

    def payment(self, intent_id: str) -> PaymentCollection:
        found = self.ledger.get_or_none(
            PaymentCollection.id_for(order_id_for(intent_id)), PaymentCollection
        )
        assert found is not None
        return found


def a_shop() -> Shop:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    stripe = FakeStripe()
    services = wire_services(
        SETTINGS,
        ledger=ledger,
        catalog=cast(Any, None),
        payments=cast(PaymentGateway, stripe),
        locks=NoLocks(),
        webhooks=cast(Any, None),
        secrets=cast(Any, None),
        clock=lambda: NOW,
        timers=cast(Any, None),
        alerts=Alerts(),
        stripe_records=stripe,
    )
    return Shop(ledger, stripe, services)


def kinds(report: Any) -> list[tuple[str, str]]:
    return sorted((f.kind, f.action) for f in report.findings)


def test_books_that_agree_give_no_findings() -> None:
    shop = a_shop()
    shop.captured_order("pi_1")
    report = shop.reconcile()
    assert report.findings == [] and report.ok
    assert (report.payment_intents, report.collections) == (1, 1)


def test_a_refund_and_a_lost_dispute_at_stripe_are_recorded_once() -> None:
    shop = a_shop()
    payment = shop.captured_order("pi_1")
    shop.stripe.refunds.append(StripeRefund("re_1", "pi_1", 300, "succeeded", NOW))
    shop.stripe.refunds.append(StripeRefund("re_2", "pi_1", 100, "pending", NOW))
    shop.stripe.disputes.append(StripeDispute("dp_1", "pi_1", 700, "lost", NOW))

    first = shop.reconcile()
    second = shop.reconcile()

    # A dispute first seen closed is recorded opened and closed: one finding, two events.
    assert kinds(first) == [("dispute_lost", RECORDED), ("refunded_at_stripe", RECORDED)]
    assert second.findings == []
    after = shop.payment("pi_1")
    assert (after.refunded, after.dispute_lost, after.status) == (300, 700, "dispute_lost")
    assert after.version == payment.version + 3


def test_a_refund_on_an_order_older_than_the_window_is_found_through_the_refund_list() -> None:
    shop = a_shop()
    shop.captured_order("pi_old")
    shop.placed.clear()  # placed before the window
    shop.stripe.payments["pi_old"] = replace(
        shop.stripe.payments["pi_old"], created=SINCE - timedelta(days=9)
    )
    shop.stripe.refunds.append(StripeRefund("re_1", "pi_old", 300, "succeeded", NOW))

    assert kinds(shop.reconcile()) == [("refunded_at_stripe", RECORDED)]


def test_a_drift_is_reported_and_nothing_recorded() -> None:
    shop = a_shop()
    shop.captured_order("pi_1")
    shop.stripe.payments["pi_1"] = replace(shop.stripe.payments["pi_1"], amount_captured=1)
    head = shop.ledger.head

    report = shop.reconcile()

    assert kinds(report) == [("capture_differs", REPORTED)] and not report.ok
    assert shop.ledger.head == head


def test_a_payment_intent_stripe_does_not_know_is_reported() -> None:
    shop = a_shop()
    shop.captured_order("pi_1")
    del shop.stripe.payments["pi_1"]
    assert kinds(shop.reconcile()) == [("missing_at_stripe", REPORTED)]


def test_an_orphan_hold_is_released_only_once_it_is_old_enough() -> None:
    shop = a_shop()
    shop.stripe.payments["pi_orphan"] = StripePayment(
        id="pi_orphan",
        status="requires_capture",
        amount=900,
        currency="eur",
        created=NOW - timedelta(minutes=30),
        amount_capturable=900,
        metadata={"cart_id": "cart_9"},
    )

    assert shop.reconcile().findings == [] and shop.stripe.canceled == []
    released = shop.reconcile(orphan_age=timedelta(minutes=20))
    assert kinds(released) == [("orphan_hold", RELEASED)] and released.ok
    assert shop.stripe.canceled == ["pi_orphan"]
    assert shop.reconcile(orphan_age=timedelta(0)).findings == []  # canceled: no hold left
