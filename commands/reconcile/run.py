"""``reconcile``: the ledger's payment collections against Stripe, for a window of time.

1. Read Stripe's lists since ``since``: PaymentIntents (with their latest charge),
   refunds and disputes. Objects they point at outside the window (an old order's
   new dispute, a collection the ledger placed in the window) are read one by one,
   a bounded number at a time.
2. For each collection: record the settled facts Stripe shows and the ledger lacks
   (refunds, dispute openings and outcomes, a canceled or lapsed hold) with
   ``source="reconciliation"``, through the same code as the webhooks; then compare
   what remains and report every difference (never changing anything for it).
3. PaymentIntents with our ``metadata.cart_id``, authorized, older than
   ``orphan_age`` and with no order: holds left by a crash between the hold and the
   order. They are released at Stripe (under the checkout's lock on the PaymentIntent).
"""

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from uuid import UUID

from commands.reconcile.compare import compare, ledger_figures, stripe_figures
from commands.reconcile.facts import (
    RecordedFact,
    record_cancellation,
    record_disputes,
    record_refunds,
)
from commands.reconcile.findings import (
    MISSING_AT_STRIPE,
    ORPHAN_HOLD,
    RECORDED,
    RELEASED,
    REPORTED,
    UNEXPLAINED,
    Finding,
    ReconcileReport,
)
from commands.reconcile.stripe_records import (
    StripeDispute,
    StripePayment,
    StripeRecordNotFound,
    StripeRecords,
    StripeRefund,
)
from commands.services import Services
from commands.stripe_payments import release_hold
from domain.errors import DomainError
from domain.ids import order_id_for, payment_collection_id_for
from domain.order import Order
from domain.payment_collection import PaymentCollection

T = TypeVar("T")
Rec = TypeVar("Rec", StripeRefund, StripeDispute)
BATCH = 200  # collections loaded in one read
Progress = Callable[[str, int], None]  # (stage, objects done in it)


class LedgerPayments(Protocol):
    """The ledger's side of the window (a read model of placed orders)."""

    def placed_since(self, since: datetime) -> Iterable[tuple[UUID, str]]:
        """(order id, checkout PaymentIntent id) of every order placed at or after ``since``."""
        ...


@dataclass(frozen=True)
class ReconcilePolicy:
    orphan_age: timedelta = timedelta(hours=1)
    concurrency: int = 8


@dataclass
class _Stripe:
    payments: dict[str, StripePayment]
    refunds: dict[str, list[StripeRefund]]
    disputes: dict[str, list[StripeDispute]]


def reconcile(
    services: Services,
    records: StripeRecords,
    placed: LedgerPayments,
    *,
    since: datetime,
    policy: ReconcilePolicy = ReconcilePolicy(),
    progress: Progress | None = None,
) -> ReconcileReport:
    """Compare, record the settled facts, release orphans, report the rest."""
    report = ReconcileReport(since=since, started_at=services.clock())
    tick = progress or (lambda stage, done: None)
    waited_before = int(getattr(records, "rate_limited", 0))  # the reader's running count
    with ThreadPoolExecutor(policy.concurrency, thread_name_prefix="reconcile") as pool:
        stripe = _read_stripe(records, since, tick)
        report.refunds = sum(len(v) for v in stripe.refunds.values())
        report.disputes = sum(len(v) for v in stripe.disputes.values())
        ledger_orders = dict(placed.placed_since(since))
        _read_outside_window(records, stripe, ledger_orders, pool, report)
        report.payment_intents = len(stripe.payments)
        by_order, orphans = _group_by_order(services, stripe, ledger_orders)
        ids = sorted(by_order)
        done = 0
        for findings in pool.map(
            lambda batch: _reconcile_batch(services, stripe, by_order, batch), _chunks(ids)
        ):
            report.findings.extend(findings)
            done += BATCH
            tick("collections", min(done, len(ids)))
        report.collections = len(ids)
        now = services.clock()
        for payment in orphans:
            if now - payment.created >= policy.orphan_age:
                released = _release_orphan(services, payment)
                if released is not None:
                    report.findings.append(released)
    report.rate_limited = int(getattr(records, "rate_limited", 0)) - waited_before
    report.finished_at = services.clock()
    return report


def _read_stripe(records: StripeRecords, since: datetime, tick: Progress) -> _Stripe:
    payments: dict[str, StripePayment] = {}
    for payment in records.payments_since(since):
        payments[payment.id] = payment
        if len(payments) % 100 == 0:
            tick("payment_intents", len(payments))
    tick("payment_intents", len(payments))
    refunds = _by_intent(records.refunds_since(since))
    tick("refunds", sum(len(v) for v in refunds.values()))
    disputes = _by_intent(records.disputes_since(since))
    tick("disputes", sum(len(v) for v in disputes.values()))
    return _Stripe(payments, refunds, disputes)


def _by_intent(objects: Iterable[Rec]) -> dict[str, list[Rec]]:
    grouped: dict[str, list[Rec]] = defaultdict(list)
    for obj in objects:
        grouped[obj.payment_intent_id].append(obj)
    return dict(grouped)


def _read_outside_window(
    records: StripeRecords,
    stripe: _Stripe,
    ledger_orders: dict[UUID, str],
    pool: ThreadPoolExecutor,
    report: ReconcileReport,
) -> None:
    """PaymentIntents created before ``since`` that the window still concerns."""
    wanted = {*stripe.refunds, *stripe.disputes, *ledger_orders.values()} - set(stripe.payments)

    def read(intent_id: str) -> tuple[str, StripePayment | None, list[StripeRefund], list[Any]]:
        try:
            payment = records.payment(intent_id)
        except StripeRecordNotFound:
            return intent_id, None, [], []
        return intent_id, payment, records.refunds_of(intent_id), records.disputes_of(intent_id)

    for intent_id, payment, refunds, disputes in pool.map(read, sorted(wanted)):
        if payment is None:
            order_id = next((o for o, pi in ledger_orders.items() if pi == intent_id), None)
            report.findings.append(
                Finding(
                    MISSING_AT_STRIPE,
                    REPORTED,
                    intent_id,
                    order_id,
                    detail="Stripe has no such PaymentIntent.",
                )
            )
            continue
        stripe.payments[intent_id] = payment
        stripe.refunds[intent_id] = refunds
        stripe.disputes[intent_id] = disputes


def _group_by_order(
    services: Services, stripe: _Stripe, ledger_orders: dict[UUID, str]
) -> tuple[dict[UUID, list[StripePayment]], list[StripePayment]]:
    """Each collection's PaymentIntents (the checkout's first), and the orphan holds."""
    candidates: dict[UUID, list[StripePayment]] = defaultdict(list)
    for payment in stripe.payments.values():
        if payment.metadata.get("supplement") == "true":
            with contextlib.suppress(ValueError):
                candidates[UUID(payment.metadata.get("order_id", ""))].append(payment)
        else:
            candidates[order_id_for(payment.id)].insert(0, payment)
    known = set(ledger_orders)
    unknown = [o for o in candidates if o not in known]
    for chunk in _chunks(unknown):
        known |= set(services.ledger.get_many(Order, *chunk))
    by_order = {o: p for o, p in candidates.items() if o in known and p}
    orphans = [
        p[0]
        for o, p in candidates.items()
        if o not in known
        and p
        and p[0].cart_id
        and p[0].status == "requires_capture"
        and p[0].metadata.get("supplement") != "true"
    ]
    return by_order, orphans


def _reconcile_batch(
    services: Services,
    stripe: _Stripe,
    by_order: dict[UUID, list[StripePayment]],
    order_ids: Sequence[UUID],
) -> list[Finding]:
    collections = services.ledger.get_many(
        PaymentCollection, *(payment_collection_id_for(o) for o in order_ids)
    )
    findings: list[Finding] = []
    for order_id in order_ids:
        pc = collections.get(payment_collection_id_for(order_id))
        if pc is None:
            continue
        payments = by_order[order_id]
        refunds = [r for p in payments for r in stripe.refunds.get(p.id, [])]
        disputes = [d for p in payments for d in stripe.disputes.get(p.id, [])]
        findings.extend(_settle(services, pc, payments, refunds, disputes))
    return findings


def _settle(
    services: Services,
    pc: PaymentCollection,
    payments: list[StripePayment],
    refunds: list[StripeRefund],
    disputes: list[StripeDispute],
) -> Iterator[Finding]:
    """Record the facts this collection lacks, then report what still differs."""
    order_id = pc.order_id
    facts: list[RecordedFact] = []
    needs = (
        any(r.settled and r.id not in pc.refund_ids for r in refunds),
        any(_dispute_news(pc, d) for d in disputes),
        payments[0].status == "canceled" and not pc.voided and not pc.is_captured,
    )
    steps: list[Callable[[], Sequence[RecordedFact]]] = []
    if needs[0]:
        steps.append(
            lambda: record_refunds(services, order_id, refunds, source="reconciliation").facts
        )
    if needs[1]:
        steps.append(
            lambda: record_disputes(services, order_id, disputes, source="reconciliation").facts
        )
    if needs[2]:
        steps.append(
            lambda: (
                record_cancellation(services, order_id, payments[0], source="reconciliation").facts
            )
        )
    for step in steps:
        try:
            facts.extend(step())
        except DomainError as error:
            yield Finding(
                UNEXPLAINED,
                REPORTED,
                pc.payment_intent_id,
                order_id,
                ledger=ledger_figures(pc),
                stripe=stripe_figures(payments, refunds, disputes),
                references=tuple(p.id for p in payments),
                detail=str(error),
            )
    for fact in facts:
        yield Finding(
            fact.kind,
            RECORDED,
            pc.payment_intent_id,
            order_id,
            stripe={"amount": fact.amount},
            references=(fact.reference,),
            detail="Settled at Stripe; recorded with source reconciliation.",
        )
    if steps:
        fresh = services.ledger.get_or_none(pc.id, PaymentCollection)
        pc = fresh if fresh is not None else pc
    yield from compare(pc, payments, refunds, disputes)


def _dispute_news(pc: PaymentCollection, dispute: StripeDispute) -> bool:
    known = pc.disputes.get(dispute.id)
    if known is None:
        return True
    return dispute.outcome is not None and known["status"] == "open"


def _release_orphan(services: Services, payment: StripePayment) -> Finding | None:
    """Cancel a hold that no order owns; the checkout's lock keeps a late order out."""
    with services.locks.hold(f"payment-intent:{payment.id}"):
        if services.ledger.get_or_none(order_id_for(payment.id), Order) is not None:
            return None  # placed meanwhile: compared on the next run
        try:
            release_hold(services.payments, payment.id)
        except DomainError as error:
            return Finding(
                ORPHAN_HOLD,
                REPORTED,
                payment.id,
                stripe={"holding": payment.holds, "cart_id": payment.cart_id},
                references=(payment.id,),
                detail=f"An orphan hold could not be released: {error}",
            )
    return Finding(
        ORPHAN_HOLD,
        RELEASED,
        payment.id,
        stripe={"holding": payment.holds, "cart_id": payment.cart_id},
        references=(payment.id,),
        detail="A hold for a cart that became no order; released at Stripe.",
    )


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]
