"""Money moved at Stripe: recorded once whichever way it arrives; every other drift reported.

Against the faithful stand-in (localstripe plus Stripe's lists, refunds and disputes
in Stripe's wire format, and signed webhooks), with the API and its worker running.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from typer.testing import CliRunner

from commands.reconcile.findings import RECORDED, RELEASED, REPORTED, ReconcileReport
from commands.reconcile.run import ReconcilePolicy, reconcile
from domain.ids import order_id_for
from domain.payment_collection import PaymentCollection
from infra.audit_views import PostgresTransactionsView
from infra.cli import app as cli
from infra.reconciliation import (
    PlacedOrders,
    ReconciliationRuns,
    reconcile_on_schedule,
    run_reconciliation,
)
from infra.stripe_emulator import RunningEmulator
from queries.audit.verify import verify_store
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import (
    WEBHOOK_SECRET,
    LiveServer,
    Shop,
    open_shop,
    server_of_its_own,
)
from tests.faults.faithful_stripe import FaithfulStripe
from tests.faults.probes import payment_of, settled, wait_until
from tests.faults.stripe_money import StripeMoney


@pytest.fixture(scope="module")
def server(
    database_url: str, faults_redis_url: str, emulator: RunningEmulator, faithful: FaithfulStripe
) -> Iterator[LiveServer]:
    with server_of_its_own(database_url, faults_redis_url, emulator, reconcile_every=0) as live:
        faithful.money.webhook_url = f"{live.url}/webhooks/stripe"
        faithful.money.webhook_secret = WEBHOOK_SECRET
        yield live


@pytest.fixture
def stripe_side(faithful: FaithfulStripe) -> StripeMoney:
    return faithful.money


@pytest.fixture
def since() -> datetime:
    """This test's window: only what it made (the stand-in is shared by the session)."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def shop(server: LiveServer) -> Shop:
    return open_shop(server, stock=50, backorder=False, paris_stock=0)


def placed(server: LiveServer, shop: Shop) -> tuple[UUID, str]:
    with server.client() as client:
        cart, intent_id = authorized_cart(server, client, shop, quantity=1)
        done = client.post(f"/store/carts/{cart['id']}/complete")
        assert done.status_code == 200, done.text
    return UUID(done.json()["order_id"]), intent_id


def captured(server: LiveServer, shop: Shop) -> tuple[UUID, str, int]:
    order_id, intent_id = placed(server, shop)
    with server.admin() as admin:
        answer = admin.post(f"/admin/orders/{order_id}/capture")
        assert answer.status_code == 200, answer.text
    return order_id, intent_id, payment_of(server, order_id).captured


def run(server: LiveServer, since: datetime) -> ReconcileReport:
    done = run_reconciliation(server.container, since=since)
    assert done is not None
    return done[0]


def verified(server: LiveServer) -> None:
    """``audit verify`` over the whole store finds nothing wrong."""
    settled(server)
    violations: list[Any] = []
    report = verify_store(
        server.container.ledger,
        PostgresTransactionsView(server.container.pool),
        now=datetime.now(UTC),
        on_violation=violations.append,
    )
    assert report.ok, violations


def kinds(report: ReconcileReport) -> list[tuple[str, str]]:
    return sorted((f.kind, f.action) for f in report.findings)


def refund_events(server: LiveServer, order_id: UUID) -> list[PaymentCollection.Refunded]:
    payment = payment_of(server, order_id)
    events = server.container.ledger.events.get(payment.id)
    return [e for e in events if isinstance(e, PaymentCollection.Refunded)]


# --- refunds --------------------------------------------------------------------------------


def test_a_refund_at_stripe_whose_webhook_arrives_twice_is_recorded_once(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id, _ = captured(server, shop)
    refund = stripe_side.refund_at_stripe(intent_id, 500)

    created = stripe_side.event("refund.created", refund)
    for signed in (
        created,
        created,
        stripe_side.event("charge.refunded", {**refund, "object": "charge"}),
    ):
        assert stripe_side.deliver(signed).status_code == 200

    payment = payment_of(server, order_id)
    assert payment.refunded == 500 and payment.status == "partially_refunded"
    [event] = refund_events(server, order_id)
    assert (event.reference, event.source) == (refund["id"], "stripe")
    assert run(server, since).findings == []
    verified(server)


def test_a_refund_whose_webhook_never_came_is_recorded_by_reconcile_and_never_twice(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id, total = captured(server, shop)
    refund = stripe_side.refund_at_stripe(intent_id, total - 100)

    first = run(server, since)
    assert kinds(first) == [("refunded_at_stripe", RECORDED)] and first.ok
    [event] = refund_events(server, order_id)
    assert (event.reference, event.source, event.amount) == (
        refund["id"],
        "reconciliation",
        total - 100,
    )
    head = server.container.ledger.head
    assert run(server, since).findings == []
    assert server.container.ledger.head == head
    # The late webhook finds it known; the shop can refund only what is left.
    assert (
        stripe_side.deliver(stripe_side.event("refund.created", refund)).json()["outcome"]
        == "known"
    )
    with server.admin() as admin:
        too_much = admin.post(
            f"/admin/orders/{order_id}/refunds", json={"amount": 200, "reason": "x"}
        )
        assert too_much.status_code == 409, too_much.text
        rest = admin.post(f"/admin/orders/{order_id}/refunds", json={"amount": 100, "reason": "x"})
        assert rest.status_code == 200, rest.text
    assert payment_of(server, order_id).status == "refunded"
    assert run(server, since).findings == []
    verified(server)


# --- disputes -------------------------------------------------------------------------------


def test_a_dispute_opened_then_lost_at_stripe_blocks_refunds_and_is_recorded_once(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id, total = captured(server, shop)
    dispute = stripe_side.open_dispute(intent_id, total)
    opened = stripe_side.event("charge.dispute.created", dispute)
    assert stripe_side.deliver(opened).json()["outcome"] == "dispute_opened"
    assert stripe_side.deliver(opened).json()["outcome"] == "duplicate"
    assert payment_of(server, order_id).status == "disputed"
    with server.admin() as admin:
        refused = admin.post(
            f"/admin/orders/{order_id}/refunds", json={"amount": 100, "reason": "x"}
        )
    assert refused.status_code == 409 and refused.json()["error"] == "PaymentDisputed"

    stripe_side.close_dispute(dispute["id"], won=False)  # its webhook never arrives
    report = run(server, since)
    assert kinds(report) == [("dispute_lost", RECORDED)] and report.ok
    payment = payment_of(server, order_id)
    assert (payment.status, payment.dispute_lost, payment.disputed) == ("dispute_lost", total, 0)
    assert run(server, since).findings == []
    settled(server)
    with server.admin() as admin:
        rows = admin.get(f"/admin/orders/{order_id}/transactions").json()
        detail = admin.get(f"/admin/orders/{order_id}").json()
        history = admin.get(f"/admin/orders/{order_id}/history").json()
    assert [r["kind"] for r in rows][-2:] == ["dispute", "dispute_lost"]
    assert detail["payment_status"] == "dispute_lost"
    assert detail["payment"]["dispute_lost"] == total
    moved = [(m["kind"], m["cause"]) for m in history["movements"]][-2:]
    assert moved == [("dispute", "stripe"), ("dispute_lost", "reconciliation")]
    assert history["payment_status"] == "dispute_lost"
    verified(server)


def test_a_won_dispute_gives_the_money_back_and_refunds_are_possible_again(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id, total = captured(server, shop)
    dispute = stripe_side.open_dispute(intent_id, 300)
    stripe_side.close_dispute(dispute["id"], won=True)
    closed = stripe_side.event("charge.dispute.closed", dispute)
    assert stripe_side.deliver(closed).json()["outcome"] == "dispute_won"
    payment = payment_of(server, order_id)
    assert (payment.status, payment.disputed, payment.dispute_lost) == ("captured", 0, 0)
    assert run(server, since).findings == []
    with server.admin() as admin:
        assert (
            admin.post(
                f"/admin/orders/{order_id}/refunds", json={"amount": total, "reason": "x"}
            ).status_code
            == 200
        )
    verified(server)


# --- holds ----------------------------------------------------------------------------------


def test_a_hold_that_lapsed_at_stripe_is_voided_by_reconcile_and_never_captured(
    server: LiveServer,
    shop: Shop,
    stripe_side: StripeMoney,
    faithful: FaithfulStripe,
    since: datetime,
) -> None:
    order_id, intent_id = placed(server, shop)
    stripe_side.lapse(intent_id)

    report = run(server, since)
    assert kinds(report) == [("canceled_at_stripe", RECORDED)] and report.ok
    payment = payment_of(server, order_id)
    assert payment.voided and payment.transactions[-1]["kind"] == "void"
    assert run(server, since).findings == []
    with server.admin() as admin:
        assert admin.post(f"/admin/orders/{order_id}/capture").status_code == 409
    assert not faithful.successful_captures(intent_id)
    verified(server)


def test_an_orphan_hold_is_released_after_its_safe_age_and_not_before(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    with server.client() as client:
        _, intent_id = authorized_cart(server, client, shop, quantity=1)  # never completed
    services = server.container.services
    records = services.stripe_records
    assert records is not None
    orders = PlacedOrders(server.container.pool)

    young = reconcile(services, records, orders, since=since, policy=ReconcilePolicy())
    assert young.findings == [] and stripe_side.intent(intent_id)["status"] == "requires_capture"

    old = reconcile(
        services, records, orders, since=since, policy=ReconcilePolicy(orphan_age=timedelta(0))
    )
    assert kinds(old) == [("orphan_hold", RELEASED)] and old.ok
    assert old.findings[0].references == (intent_id,)
    assert stripe_side.intent(intent_id)["status"] == "canceled"
    assert server.container.ledger.get_or_none(order_id_for(intent_id), PaymentCollection) is None


# --- a drift that is not a fact -------------------------------------------------------------


def test_a_smaller_capture_at_stripe_is_reported_with_exit_1_and_nothing_is_written(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id, total = captured(server, shop)
    settled(server)
    head = server.container.ledger.head
    stripe_side.forge_capture(intent_id, total - 100)
    env = {
        **os.environ,
        "DATABASE_URL": server.container.database_url,
        "REDIS_URL": server.container.settings.redis_url or "",
        "STRIPE_API_KEY": "sk_test_e2e",
        "STRIPE_API_BASE": server.emulator_url,
        "OPS_EMAIL": "ops@example.com",
    }
    try:
        result = CliRunner().invoke(
            cli, ["reconcile", "--since", since.isoformat(), "--json"], env=env
        )
    finally:
        stripe_side.forge_capture(intent_id, total)
    assert result.exit_code == 1, result.output
    assert server.container.ledger.head == head
    assert payment_of(server, order_id).captured == total
    with server.admin() as admin:
        shown = admin.get("/admin/reconciliation").json()
        metrics = httpx.get(f"{server.url}/metrics").text
    [finding] = shown["findings"]
    assert finding["kind"] == "capture_differs" and finding["action"] == REPORTED
    assert (finding["ledger"]["captured"], finding["stripe"]["captured"]) == (total, total - 100)
    assert finding["references"] == [intent_id] and shown["run"]["ok"] is False
    assert (
        'orderledger_reconciliation_findings{action="reported",kind="capture_differs"} 1.0'
        in metrics
    )
    with server.container.pool.connection() as conn:
        mail = conn.execute(
            "SELECT recipient, subject FROM orderledger.notifications WHERE kind = 'reconciliation_alert'"
        ).fetchall()
    assert [row[0] for row in mail] == ["ops@example.com"] and "1 difference" in mail[0][1]
    verified(server)


def test_reconcile_waits_out_stripes_rate_limit(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    captured(server, shop)
    stripe_side.rate_limit_every = 2
    try:
        report = run(server, since)
    finally:
        stripe_side.rate_limit_every = 0
    assert report.ok and report.payment_intents >= 1 and report.rate_limited >= 1


def test_only_one_reconcile_runs_at_a_time(server: LiveServer, since: datetime) -> None:
    with server.container.pool.connection() as other:
        other.execute("SELECT pg_advisory_lock(hashtext('orderledger-reconcile'))")
        try:
            assert run_reconciliation(server.container, since=since) is None
        finally:
            other.execute("SELECT pg_advisory_unlock(hashtext('orderledger-reconcile'))")
    assert run_reconciliation(server.container, since=since) is not None


def test_a_lapse_reported_by_webhook_voids_the_order_with_stripe_as_its_source(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id = placed(server, shop)
    intent = stripe_side.lapse(intent_id)

    expired = stripe_side.event("charge.expired", intent["latest_charge"])
    assert stripe_side.deliver(expired).json()["outcome"] == "canceled_at_stripe"

    payment = payment_of(server, order_id)
    assert payment.voided and payment.transactions[-1]["reference"] == intent_id
    events = server.container.ledger.events.get(payment.id)
    [void] = [e for e in events if isinstance(e, PaymentCollection.Voided)]
    assert (void.source, void.reason) == (
        "stripe",
        "The authorization lapsed at Stripe before capture.",
    )
    assert run(server, since).findings == []
    verified(server)


def test_the_worker_duty_reconciles_on_its_schedule(server: LiveServer) -> None:
    container = dataclasses.replace(
        server.container,
        settings=server.container.settings.model_copy(update={"reconcile_every": 0.05}),
    )
    runs = ReconciliationRuns(container.pool)
    before = (runs.latest() or {}).get("id", 0)
    stop = threading.Event()
    duty = threading.Thread(target=reconcile_on_schedule, args=(container, stop), daemon=True)
    duty.start()
    try:
        wait_until(lambda: (runs.latest() or {}).get("id", 0) > before, 20, "a scheduled run")
    finally:
        stop.set()
        duty.join(10)
    assert not duty.is_alive()


def test_a_since_that_is_no_date_is_refused_with_exit_2(server: LiveServer) -> None:
    env = {**os.environ, "DATABASE_URL": server.container.database_url}
    result = CliRunner().invoke(cli, ["reconcile", "--since", "last tuesday"], env=env)
    assert result.exit_code == 2 and "ISO 8601" in result.output


def test_a_cancellation_at_stripe_after_authorization_is_recorded_with_stripe_as_its_source(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id = placed(server, shop)
    canceled = server.stripe().v1.payment_intents.cancel(intent_id).to_dict()

    signed = stripe_side.event("payment_intent.canceled", canceled)
    assert stripe_side.deliver(signed).json()["outcome"] == "voided"

    payment = payment_of(server, order_id)
    [void] = [
        e
        for e in server.container.ledger.events.get(payment.id)
        if isinstance(e, PaymentCollection.Voided)
    ]
    assert void.source == "stripe" and payment.status == "canceled"
    assert run(server, since).findings == []
    verified(server)


def test_a_refund_reported_by_webhooks_and_reconcile_at_once_is_recorded_once(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id, _ = captured(server, shop)
    refund = stripe_side.refund_at_stripe(intent_id, 700)
    events = [stripe_side.event("refund.created", refund) for _ in range(4)]  # 4 event ids

    with ThreadPoolExecutor(6) as pool:
        deliveries = [pool.submit(stripe_side.deliver, signed) for signed in events]
        runs = [pool.submit(run_reconciliation, server.container, since=since) for _ in range(2)]
        outcomes = sorted(d.result().json()["outcome"] for d in deliveries)
        for r in runs:
            r.result()  # one runner at a time: the other may have found it done

    assert outcomes.count("refunded_at_stripe") <= 1
    assert len(refund_events(server, order_id)) == 1
    assert payment_of(server, order_id).refunded == 700
    verified(server)


def test_a_fact_at_stripe_the_ledger_cannot_explain_is_reported_and_not_recorded(
    server: LiveServer, shop: Shop, stripe_side: StripeMoney, since: datetime
) -> None:
    order_id, intent_id, total = captured(server, shop)
    with server.admin() as admin:
        half = admin.post(
            f"/admin/orders/{order_id}/refunds", json={"amount": total // 2, "reason": "x"}
        )
        assert half.status_code == 200, half.text
    dispute = stripe_side.open_dispute(intent_id, total)  # more than is left of the capture
    assert stripe_side.deliver(stripe_side.event("charge.dispute.created", dispute)).json() == {
        "received": "true",
        "outcome": "unexplained",
    }
    head = server.container.ledger.head

    report = run(server, since)

    assert not report.ok
    assert ("unexplained_at_stripe", REPORTED) in kinds(report)
    assert ("dispute_differs", REPORTED) in kinds(report)
    assert server.container.ledger.head == head
    assert payment_of(server, order_id).disputes == {}
    verified(server)
    stripe_side.close_dispute(dispute["id"], won=True)  # leave nothing open for later runs
    stripe_side.disputes.pop(dispute["id"])


def test_the_reconciliation_endpoint_needs_the_admin_key(server: LiveServer) -> None:
    with server.client() as anonymous:
        assert anonymous.get("/admin/reconciliation").status_code == 401
    with server.admin() as admin:
        answer = admin.get("/admin/reconciliation", params={"action": "everything"})
    assert answer.status_code == 422 and answer.json()["error"] == "ValidationError"
