"""Delayed capture: due after the grace period, captured exactly once, whatever happens to Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest

from commands.capture import capture_payment
from domain.ids import inventory_level_id_for, payment_collection_id_for
from domain.payment_collection import PaymentCollection
from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import LiveServer, open_shop, server_of_its_own

GRACE_SECONDS = 2


@pytest.fixture(scope="module")
def quick_server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    """A server whose grace period is two seconds, with its own database and Redis db."""
    with server_of_its_own(
        database_url,
        redis_url,
        stripe_emulator,
        redis_db=14,
        capture_grace_seconds=GRACE_SECONDS,
        capture_sweep_seconds=0.5,
    ) as server:
        yield server


def wait_until(condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        threading.Event().wait(0.05)  # poll the ledger's own state, bounded
    raise AssertionError(f"condition not met within {timeout} s")


def place_order(server: LiveServer, quantity: int = 2) -> tuple[UUID, str, dict[str, Any]]:
    shop = open_shop(server, stock=10)
    with server.client() as client:
        cart, intent_id = authorized_cart(server, client, shop, quantity)
        done = client.post(f"/store/carts/{cart['id']}/complete")
        assert done.status_code == 200, done.text
    return UUID(done.json()["order_id"]), intent_id, {"cart": cart, "shop": shop}


def payment_of(server: LiveServer, order_id: UUID) -> PaymentCollection:
    payment = server.container.ledger.repository.get(payment_collection_id_for(order_id))
    assert isinstance(payment, PaymentCollection)
    return payment


def captured(server: LiveServer, order_id: UUID) -> bool:
    return payment_of(server, order_id).is_captured


def test_an_order_is_captured_once_after_its_grace_period(quick_server: LiveServer) -> None:
    order_id, intent_id, ctx = place_order(quick_server)
    payment = wait_until(
        lambda: (
            payment_of(quick_server, order_id).capture_due_at and payment_of(quick_server, order_id)
        )
    )
    assert (payment.capture_due_at - payment.authorized_at).total_seconds() == GRACE_SECONDS
    assert not payment.is_captured
    wait_until(lambda: captured(quick_server, order_id))
    payment = payment_of(quick_server, order_id)
    assert payment.captured == ctx["cart"]["total"]
    assert [t["kind"] for t in payment.transactions] == ["authorization", "capture"]
    intent = quick_server.stripe().v1.payment_intents.retrieve(intent_id)
    assert intent.status == "succeeded"
    with quick_server.admin() as admin:
        rows = wait_until(
            lambda: (
                (r := admin.get(f"/admin/orders/{order_id}/transactions").json())
                and len(r) == 2
                and r
            )
        )
        order = admin.get(f"/admin/orders/{order_id}").json()
    assert [row["kind"] for row in rows] == ["authorization", "capture"]
    assert order["status"] == "captured"


def test_a_flushed_redis_still_gets_every_capture_through_the_sweeper(
    quick_server: LiveServer,
) -> None:
    order_id, _, _ = place_order(quick_server)
    wait_until(lambda: payment_of(quick_server, order_id).capture_due_at)
    quick_server.container.redis.flushdb()
    wait_until(lambda: captured(quick_server, order_id))
    assert [t["kind"] for t in payment_of(quick_server, order_id).transactions] == [
        "authorization",
        "capture",
    ]


def test_workers_racing_on_one_due_capture_record_one_capture(quick_server: LiveServer) -> None:
    order_id, intent_id, _ = place_order(quick_server)
    services = quick_server.container.services
    due = wait_until(lambda: payment_of(quick_server, order_id).capture_due_at)
    wait_until(lambda: services.clock() >= due)
    # The server's own worker races these six as well.
    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = list(
            pool.map(
                lambda _: capture_payment(services, order_id, by="test", only_if_due=True).status,
                range(6),
            )
        )
    assert outcomes.count("captured") <= 1
    assert set(outcomes) <= {"captured", "already_captured"}
    payment = payment_of(quick_server, order_id)
    assert [t["kind"] for t in payment.transactions] == ["authorization", "capture"]
    assert quick_server.stripe().v1.payment_intents.retrieve(intent_id).status == "succeeded"


def test_a_crash_between_stripe_and_the_ledger_records_the_capture_once_on_retry(
    quick_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id, intent_id, _ = place_order(quick_server)
    services = quick_server.container.services
    ledger = services.ledger
    real_save = ledger.save_all
    calls = {"n": 0}

    def crash_once(*aggregates: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("the process died after Stripe answered")
        return real_save(*aggregates)

    monkeypatch.setattr(ledger, "save_all", crash_once)
    with pytest.raises(ConnectionError):
        capture_payment(services, order_id, by="test")
    assert quick_server.stripe().v1.payment_intents.retrieve(intent_id).status == "succeeded"
    assert not payment_of(quick_server, order_id).is_captured
    outcome = capture_payment(services, order_id, by="test")
    assert outcome.status == "captured"
    payment = payment_of(quick_server, order_id)
    assert [t["kind"] for t in payment.transactions] == ["authorization", "capture"]


def test_cancel_before_capture_voids_the_hold_and_releases_stock(quick_server: LiveServer) -> None:
    order_id, intent_id, ctx = place_order(quick_server, quantity=3)
    with quick_server.admin() as admin:
        answer = admin.post(f"/admin/orders/{order_id}/cancel")
        assert answer.status_code == 200, answer.text
        after_cancel = admin.post(f"/admin/orders/{order_id}/capture")
        assert after_cancel.status_code == 409
    assert quick_server.stripe().v1.payment_intents.retrieve(intent_id).status == "canceled"
    payment = payment_of(quick_server, order_id)
    assert payment.voided and not payment.is_captured
    shop = ctx["shop"]
    level = quick_server.container.ledger.repository.get(
        inventory_level_id_for(shop.variant, shop.berlin)
    )
    assert level.reserved == 0


def test_refunds_follow_the_rules_the_ledger_checks_before_stripe(quick_server: LiveServer) -> None:
    order_id, _, ctx = place_order(quick_server)
    total = ctx["cart"]["total"]
    with quick_server.admin() as admin:
        early = admin.post(f"/admin/orders/{order_id}/refunds", json={"amount": 100, "reason": "x"})
        assert early.status_code == 409 and early.json()["error"] == "NotCaptured"
        assert admin.post(f"/admin/orders/{order_id}/capture").status_code == 200
        partial = admin.post(
            f"/admin/orders/{order_id}/refunds", json={"amount": 500, "reason": "dent"}
        )
        assert partial.status_code == 200, partial.text
        too_much = admin.post(
            f"/admin/orders/{order_id}/refunds", json={"amount": total, "reason": "x"}
        )
        assert too_much.status_code == 409 and too_much.json()["error"] == "RefundExceedsCaptured"
        rest = admin.post(
            f"/admin/orders/{order_id}/refunds", json={"amount": total - 500, "reason": "x"}
        )
        assert rest.status_code == 200
    payment = payment_of(quick_server, order_id)
    assert (payment.captured, payment.refunded, payment.status) == (total, total, "refunded")
    assert [t["kind"] for t in payment.transactions] == [
        "authorization",
        "capture",
        "refund",
        "refund",
    ]


def test_a_backorder_is_recorded_once_even_when_the_log_is_read_again(
    quick_server: LiveServer,
) -> None:
    shop = open_shop(quick_server, stock=1, backorder=True)
    with quick_server.client() as client:
        cart, _ = authorized_cart(quick_server, client, shop, 3)
        assert client.post(f"/store/carts/{cart['id']}/complete").status_code == 200
    ledger = quick_server.container.ledger
    level_id = inventory_level_id_for(shop.variant, shop.berlin)
    level = wait_until(
        lambda: (lv := ledger.repository.get(level_id)).backordered_reservations and lv
    )
    assert len(level.backordered_reservations) == 1
    from commands.process_manager import ProcessManager

    # A second process manager starting from the same log decides nothing again.
    ProcessManager(quick_server.container.services).catch_up()
    assert ledger.repository.get(level_id).version == level.version
    with quick_server.admin() as admin:
        listed = wait_until(
            lambda: [
                row
                for row in admin.get("/admin/backorders?limit=200").json()
                if row["variant_id"] == shop.variant
            ]
        )
    assert [(row["location_id"], row["shortfall"]) for row in listed] == [(shop.berlin, 2)]


def test_a_failing_capture_is_retried_then_marked_failed_and_ops_are_alerted(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from commands.errors import PaymentProviderUnavailable

    # The main server's one-hour grace keeps its own worker from capturing meanwhile.
    order_id, _, _ = place_order(live_server)
    services = live_server.container.services
    alerts: list[str] = []

    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise PaymentProviderUnavailable("Stripe could not be reached: connection refused")

    monkeypatch.setattr(services.payments, "capture_payment_intent", unavailable)
    monkeypatch.setattr(services.alerts, "alert", lambda subject, text: alerts.append(subject))
    outcomes = [
        capture_payment(services, order_id, by="test").status
        for _ in range(services.policy.capture.max_attempts)
    ]
    assert outcomes == ["retry"] * (services.policy.capture.max_attempts - 1) + ["failed"]
    payment = payment_of(live_server, order_id)
    assert payment.capture_failed and not payment.is_captured
    assert payment.capture_attempts == services.policy.capture.max_attempts
    assert "connection refused" in (payment.last_capture_error or "")
    assert alerts == ["Capture failed"]


def test_authorizations_that_lapse_soon_are_listed_for_the_admin(live_server: LiveServer) -> None:
    # The one-hour grace of the main server keeps the order uncaptured meanwhile.
    order_id, _, _ = place_order(live_server)
    wait_until(lambda: payment_of(live_server, order_id).capture_due_at)
    with live_server.admin() as admin:
        soon = wait_until(
            lambda: [
                row
                for row in admin.get("/admin/authorizations/near-expiry?within_hours=200").json()
                if row["order_id"] == str(order_id)
            ]
        )
        later = admin.get("/admin/authorizations/near-expiry?within_hours=1").json()
    assert soon[0]["lapses_at"] > soon[0]["authorized_at"]
    assert str(order_id) not in [row["order_id"] for row in later]
