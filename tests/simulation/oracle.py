"""The oracle, run after every phase and at the end, with the worker stopped at the head.

Each check raises ``Broken`` with what it found; the run prints the seed and shrinks.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from commands.reconcile.findings import RECORDED
from domain.ids import inventory_level_id_for
from domain.inventory_level import InventoryLevel
from domain.order import Order
from infra.audit_views import PostgresTransactionsView
from infra.reconciliation import run_reconciliation
from queries.audit.verify import verify_store
from tests.faults.probes import count_events, payment_of, settled
from tests.faults.test_soak import view_rows
from tests.simulation.model import Model
from tests.simulation.shop import Storefront


class Broken(AssertionError):
    def __init__(self, check: str, detail: Any) -> None:
        super().__init__(f"{check}: {detail}")
        self.check = check


def check(model: Model, shop: Storefront) -> None:
    """Every invariant, in the order a developer would want to read the first failure."""
    world = shop.world
    shop.jump_past_grace()
    settled(shop.api, timeout=90)
    world.stop_worker()  # nothing moves while the oracle looks
    try:
        for name, probe in CHECKS:
            probe(model, shop)
            model.checks[name] += 1
    finally:
        world.start_worker()


def audit_verify(model: Model, shop: Storefront) -> None:
    container = shop.api.container
    violations: list[Any] = []
    report = verify_store(
        container.ledger,
        PostgresTransactionsView(container.pool),
        now=datetime.now(UTC),
        on_violation=violations.append,
    )
    if not report.ok:
        raise Broken("audit verify", violations[:5])


def views_equal_rebuilds(model: Model, shop: Storefront) -> None:
    projections = shop.api.container.projections
    for name in projections.projectors:
        before = view_rows(shop.api, name)
        projections.rebuild(name)
        after = view_rows(shop.api, name)
        if after != before:
            differ = [t for t in before if before[t] != after.get(t)]
            raise Broken("view equals its rebuild", f"{name}: tables {differ}")


def reconciliation(model: Model, shop: Storefront) -> None:
    container = shop.api.container
    since = shop.world.started_at
    first = run_reconciliation(container, since=since)
    assert first is not None, "another reconciliation held the lock"
    recorded = [f for f in first[0].findings if f.action == RECORDED]
    other = [f for f in first[0].findings if f.action != RECORDED]
    if other or len(recorded) > model.withheld_webhooks:
        raise Broken("reconciliation", [(f.kind, f.action, f.detail) for f in first[0].findings])
    model.withheld_webhooks -= len(recorded)
    again = run_reconciliation(container, since=since)
    assert again is not None
    if again[0].findings:
        raise Broken("reconciliation twice", [(f.kind, f.action) for f in again[0].findings])


def money_per_order(model: Model, shop: Storefront) -> None:
    money = shop.world.stripe.money
    for placed in model.orders:
        payment = payment_of(shop.api, placed.order_id)
        where = f"order {placed.order_id} ({placed.surface})"
        if not payment.captured <= payment.authorized:
            raise Broken("captured <= authorized", (where, payment.captured, payment.authorized))
        if not payment.refunded <= payment.captured:
            raise Broken("refunded <= captured", (where, payment.refunded, payment.captured))
        at_stripe = [money.intent(i) for i in payment.holds]
        received = sum(int(i["amount_received"]) for i in at_stripe)
        refunded = sum(
            int((i.get("latest_charge") or {}).get("amount_refunded", 0)) for i in at_stripe
        )
        if (received, refunded) != (payment.captured, payment.refunded):
            raise Broken(
                "Stripe's figures equal the ledger's",
                (
                    where,
                    {
                        "stripe": (received, refunded),
                        "ledger": (payment.captured, payment.refunded),
                    },
                ),
            )


def stock(model: Model, shop: Storefront) -> None:
    ledger = shop.api.container.ledger
    level = ledger.repository.get(inventory_level_id_for(shop.shop.variant, shop.shop.berlin))
    assert isinstance(level, InventoryLevel)
    held = 0
    for placed in model.orders:
        order = ledger.repository.get(placed.order_id)
        assert isinstance(order, Order)
        if order.status != "canceled":
            held += sum(line.quantity for line in order.lines.values())
    if level.reserved != held:
        raise Broken("stock reserved equals the open lines", (level.reserved, held))
    if level.available < 0 and not level.allow_backorder:
        raise Broken("stock never below zero without backorder", level.available)


# The e-mails an order gets once whatever happens to it; the others (a change, a refund,
# an alert) are one per event, and two changes from one total to the same other total
# rightly send the same words twice.
ONCE_PER_ORDER = frozenset({"order_confirmation", "payment_receipt"})


def no_mail_twice(model: Model, shop: Storefront) -> None:
    """No order's confirmation or receipt reaches its customer under two keys (a key is
    the event's and the kind's: Resend delivers one key once)."""
    keys: dict[tuple[str, ...], set[str | None]] = {}
    for received in shop.world.resend.received:
        if received.status != 200:
            continue
        kind = (received.idempotency_key or "").rsplit("-", 1)[-1]
        if kind not in ONCE_PER_ORDER:
            continue
        mail = (",".join(received.recipients), str(received.payload.get("subject")))
        keys.setdefault(mail, set()).add(received.idempotency_key)
    twice = {mail: k for mail, k in keys.items() if len(k) > 1}
    if twice:
        raise Broken("no e-mail sent twice", list(twice)[:3])


def acknowledged_once(model: Model, shop: Storefront) -> None:
    url = shop.api.container.database_url
    placed = Counter(o.order_id for o in model.orders)
    for order_id, times in placed.items():
        if times != 1:
            raise Broken("an order acknowledged once", (order_id, times))
        if count_events(url, "Order.Placed", order_id) != 1:
            raise Broken("an acknowledged order placed exactly once", order_id)
    for intent_id in model.declined:
        from domain.ids import order_id_for

        if count_events(url, "Order.Placed", order_id_for(intent_id)):
            raise Broken("a declined card placed no order", intent_id)
    ledger = shop.api.container.ledger
    for o in model.orders:
        payment = payment_of(shop.api, o.order_id)
        order = ledger.repository.get(o.order_id)
        if not o.refunds_acked <= payment.refunded <= o.refunds_acked + o.refunds_unsure:
            raise Broken(
                "every acknowledged refund present once",
                (o.order_id, payment.refunded, o.refunds_acked, o.refunds_unsure),
            )
        if o.canceled and order.status != "canceled":
            raise Broken("an acknowledged cancel canceled", (o.order_id, order.status))
        if o.captured and not payment.is_captured:
            raise Broken("an acknowledged capture captured", o.order_id)


CHECKS = [
    ("audit verify", audit_verify),
    ("views equal rebuilds", views_equal_rebuilds),
    ("reconciliation", reconciliation),
    ("money per order", money_per_order),
    ("stock", stock),
    ("no e-mail twice", no_mail_twice),
    ("acknowledged once", acknowledged_once),
]
