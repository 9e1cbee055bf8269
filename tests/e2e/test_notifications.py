"""E-mail notifications end to end: decided once from the log, sent through the real
Resend SDK to a local stand-in, retried, and never in the way of orders or payments."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest

from commands.capture import capture_payment
from commands.errors import PaymentProviderUnavailable
from commands.notify.notifier import Notifier
from domain.money import Money
from domain.order import Order
from infra.notification_store import PostgresDeliveryLog
from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import (
    LiveServer,
    Shop,
    authorize_at_stripe,
    open_shop,
    server_of_its_own,
)
from tests.e2e.resend_standin import ResendStandIn, resend_standin
from tests.e2e.test_capture import payment_of, wait_until

OPS = "ops@example.com"


@pytest.fixture(scope="module")
def standin() -> Iterator[ResendStandIn]:
    with resend_standin() as server:
        yield server


@pytest.fixture(scope="module")
def mail_server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator, standin: ResendStandIn
) -> Iterator[LiveServer]:
    """A server that mails through the stand-in, with a two-second grace period."""
    with server_of_its_own(
        database_url,
        redis_url,
        stripe_emulator,
        redis_db=12,
        resend_api_key="re_test",
        resend_api_url=standin.url,
        ops_email=OPS,
        capture_grace_seconds=2,
        capture_sweep_seconds=0.5,
    ) as server:
        yield server


def checkout(server: LiveServer, shop: Shop, email: str, quantity: int = 2) -> dict[str, Any]:
    """Cart → payment session → card confirmed → complete; what the storefront saw."""
    with server.client() as client:
        cart = client.post(
            "/store/carts",
            json={"region_id": shop.region, "sales_channel_id": shop.channel, "email": email},
        ).json()
        added = client.post(
            f"/store/carts/{cart['id']}/line-items",
            json={"variant_id": shop.variant, "quantity": quantity},
        )
        assert added.status_code == 200, added.text
        shipped = client.post(
            f"/store/carts/{cart['id']}/shipping-method",
            json={"shipping_option_id": shop.shipping},
        )
        assert shipped.status_code == 200, shipped.text
        session = client.post(f"/store/carts/{cart['id']}/payment-session").json()
        assert authorize_at_stripe(server, session["payment_intent_id"]) == "requires_capture"
        done = client.post(f"/store/carts/{cart['id']}/complete")
        assert done.status_code == 200, done.text
    return {
        "cart": shipped.json(),
        "order_id": UUID(done.json()["order_id"]),
        "access_token": done.json()["access_token"],
        "client_secret": session["client_secret"],
        "payment_intent_id": session["payment_intent_id"],
        "position": done.headers["X-Ledger-Position"],
    }


def deliveries(admin: httpx.Client, **filters: Any) -> list[dict[str, Any]]:
    answer = admin.get("/admin/notifications", params={"limit": 200, **filters})
    assert answer.status_code == 200, answer.text
    return list(answer.json()["data"])


def settled(admin: httpx.Client, order_id: UUID, kinds: set[str]) -> list[dict[str, Any]]:
    """The order's e-mails once every one of ``kinds`` is decided and none is pending."""
    rows = deliveries(admin, order_id=str(order_id))
    if {row["kind"] for row in rows} >= kinds and all(r["status"] != "pending" for r in rows):
        return rows
    return []


def customer() -> str:
    return f"ada-{uuid.uuid4().hex[:8]}@example.com"


def eur(amount: int) -> str:
    return f"{Money(amount, 'eur').to_major()} EUR"


def test_a_checkout_change_capture_and_refund_each_mail_the_customer_exactly_once(
    mail_server: LiveServer, standin: ResendStandIn
) -> None:
    email = customer()
    shop = open_shop(mail_server, stock=10)
    placed = checkout(mail_server, shop, email, quantity=3)
    order_id = placed["order_id"]
    order: Order = mail_server.container.ledger.repository.get(order_id)
    [line_id] = order.lines
    with mail_server.admin() as admin:
        # Within the two-second grace period.
        changed = admin.post(f"/admin/orders/{order_id}/line-items/{line_id}", json={"quantity": 1})
        assert changed.status_code == 200, changed.text
        new_total = changed.json()["total"]
        captured = admin.post(f"/admin/orders/{order_id}/capture")
        assert captured.status_code == 200, captured.text
        refunded = admin.post(
            f"/admin/orders/{order_id}/refunds", json={"amount": 500, "reason": "dent"}
        )
        assert refunded.status_code == 200, refunded.text
        kinds = {"order_confirmation", "order_changed", "payment_receipt", "refund_issued"}
        rows = wait_until(lambda: settled(admin, order_id, kinds))

    assert sorted(row["kind"] for row in rows) == sorted(kinds)
    assert {row["status"] for row in rows} == {"sent"}
    assert {row["recipient"] for row in rows} == {email}
    sent = standin.delivered_to(email)
    keys = [r.idempotency_key for r in sent]
    assert len(sent) == 4 and len(set(keys)) == 4
    assert all(key and key.startswith("notif-") for key in keys)
    assert {row["message_id"] for row in rows} == {standin.ids[key or ""] for key in keys}
    assert {r.authorization for r in sent} == {"Bearer re_test"}

    by_subject = {r.payload["subject"]: r.payload for r in sent}
    receipt = next(p for s, p in by_subject.items() if s.startswith("Receipt"))
    assert eur(new_total) in receipt["text"] and eur(new_total) in receipt["html"]
    refund = next(p for s, p in by_subject.items() if s.startswith("Refund"))
    assert eur(500) in refund["text"]
    change = next(p for s, p in by_subject.items() if "changed" in s)
    assert eur(placed["cart"]["total"]) in change["text"] and eur(new_total) in change["text"]
    for payload in by_subject.values():
        assert payload["from"] == mail_server.container.settings.notify_from
        for secret in (placed["access_token"], placed["client_secret"], "re_test", "sk_test"):
            assert secret not in payload["text"] and secret not in payload["html"]


def test_reading_the_log_again_decides_no_e_mail_twice(
    mail_server: LiveServer, standin: ResendStandIn
) -> None:
    email = customer()
    placed = checkout(mail_server, open_shop(mail_server), email)
    with mail_server.admin() as admin:
        wait_until(lambda: settled(admin, placed["order_id"], {"order_confirmation"}))
    container = mail_server.container
    log = PostgresDeliveryLog(container.pool)

    def decided_up_to(position: int) -> int:
        with container.pool.connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM orderledger.notifications WHERE notification_id <= %s",
                (position,),
            ).fetchone()
        return int(row[0]) if row else 0

    # What the server's notifier has decided so far (it goes on deciding meanwhile).
    decided = log.position("notifier")
    before = decided_up_to(decided)
    # A second instance of the notifier, and one that reads the log from the start.
    Notifier(container.ledger, log, container.services.clock, ops_email=OPS).catch_up()
    from_scratch = Notifier(
        container.ledger,
        log,
        container.services.clock,
        ops_email=OPS,
        follower=f"replay-{uuid.uuid4().hex[:6]}",
        from_start=True,
    )
    assert from_scratch.catch_up() > 0
    # Positions, not counts: a save that failed leaves a gap in the notification ids.
    assert log.position(from_scratch.follower) >= decided >= int(placed["position"])
    assert decided_up_to(decided) == before
    with mail_server.admin() as admin:
        mine = deliveries(admin, order_id=str(placed["order_id"]))
    assert [row["kind"] for row in mine].count("order_confirmation") == 1
    assert len(standin.delivered_to(email)) == 1


def test_a_rate_limited_e_mail_is_retried_with_the_same_idempotency_key(
    mail_server: LiveServer, standin: ResendStandIn
) -> None:
    email = customer()
    standin.fail_once(email, 429, retry_after="0")
    placed = checkout(mail_server, open_shop(mail_server), email)
    with mail_server.admin() as admin:
        rows = wait_until(lambda: settled(admin, placed["order_id"], {"order_confirmation"}))
    confirmation = next(row for row in rows if row["kind"] == "order_confirmation")
    assert confirmation["status"] == "sent" and confirmation["attempts"] == 2
    tries = [r for r in standin.to(email) if r.idempotency_key == confirmation["idempotency_key"]]
    assert [r.status for r in tries] == [429, 200]


def test_a_mail_service_that_keeps_failing_marks_the_e_mail_failed_and_the_order_is_captured(
    mail_server: LiveServer, standin: ResendStandIn
) -> None:
    email = customer()
    standin.fail_always(email, 500)
    placed = checkout(mail_server, open_shop(mail_server), email)
    order_id = placed["order_id"]
    wait_until(lambda: payment_of(mail_server, order_id).is_captured)
    with mail_server.admin() as admin:
        rows = wait_until(
            lambda: settled(admin, order_id, {"order_confirmation", "payment_receipt"})
        )
        failed = deliveries(admin, status="failed")
        order = admin.get(f"/admin/orders/{order_id}").json()
    assert {row["status"] for row in rows} == {"failed"}
    assert all(row["attempts"] == 5 and "500" in row["last_error"] for row in rows)
    assert {row["id"] for row in rows} <= {row["id"] for row in failed}
    assert order["status"] == "captured"
    assert standin.delivered_to(email) == []


def test_ops_hear_of_backorders_and_of_captures_that_finally_failed(
    mail_server: LiveServer, standin: ResendStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = mail_server.container.services
    failing: set[str] = set()
    real_capture = services.payments.capture_payment_intent

    def capture(payment_intent_id: str, **kwargs: Any) -> Any:
        if payment_intent_id in failing:
            raise PaymentProviderUnavailable("Stripe could not be reached: connection refused")
        return real_capture(payment_intent_id, **kwargs)

    monkeypatch.setattr(services.payments, "capture_payment_intent", capture)
    shop = open_shop(mail_server, stock=1, backorder=True)
    with mail_server.client() as client:
        cart = client.post(
            "/store/carts",
            json={"region_id": shop.region, "sales_channel_id": shop.channel, "email": customer()},
        ).json()
        client.post(
            f"/store/carts/{cart['id']}/line-items",
            json={"variant_id": shop.variant, "quantity": 3},
        )
        client.post(
            f"/store/carts/{cart['id']}/shipping-method",
            json={"shipping_option_id": shop.shipping},
        )
        intent_id = client.post(f"/store/carts/{cart['id']}/payment-session").json()[
            "payment_intent_id"
        ]
        failing.add(intent_id)
        assert authorize_at_stripe(mail_server, intent_id) == "requires_capture"
        done = client.post(f"/store/carts/{cart['id']}/complete")
        assert done.status_code == 200, done.text
    order_id = UUID(done.json()["order_id"])
    for _ in range(services.policy.capture.max_attempts):
        if payment_of(mail_server, order_id).capture_failed:
            break
        capture_payment(services, order_id, by="test")
    assert payment_of(mail_server, order_id).capture_failed

    with mail_server.admin() as admin:
        rows = wait_until(
            lambda: settled(admin, order_id, {"backorder_alert", "capture_failed_alert"})
        )
    ops_rows = [row for row in rows if row["kind"] in {"backorder_alert", "capture_failed_alert"}]
    assert {row["recipient"] for row in ops_rows} == {OPS}
    assert {row["status"] for row in ops_rows} == {"sent"}
    texts = [r.payload["text"] for r in standin.delivered_to(OPS)]
    assert any(shop.variant in text and "short by 2" in text for text in texts)
    assert any(str(order_id) in text and "connection refused" in text for text in texts)


def test_the_delivery_log_needs_an_admin_key(mail_server: LiveServer) -> None:
    with mail_server.client() as client:
        answer = client.get("/admin/notifications")
    assert answer.status_code == 401
    assert set(answer.json()) == {"error", "detail"}
