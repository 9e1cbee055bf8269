"""Changing an order in its grace period: stock, tax, totals and the hold move together."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.ids import inventory_level_id_for, payment_collection_id_for
from domain.money import tax_on
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import LiveServer, Shop, open_shop, server_of_its_own
from tests.e2e.ledger_probe import settled_head
from tests.e2e.stripe_standin import StandIn, stripe_standin


@pytest.fixture(scope="module")
def standin(stripe_emulator: RunningEmulator) -> Iterator[StandIn]:
    with stripe_standin(stripe_emulator.url) as state:
        yield state


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator, standin: StandIn
) -> Iterator[LiveServer]:
    """A server whose Stripe can raise authorizations (through the stand-in)."""
    with server_of_its_own(
        database_url, redis_url, stripe_emulator, redis_db=13, stripe_api_base=standin.url
    ) as live:
        yield live


def admin_adds_line(
    admin: httpx.Client, order: dict[str, Any], variant: str, quantity: int
) -> httpx.Response:
    """The admin adds ``quantity`` of ``variant`` to the placed order."""
    return admin.post(
        f"/admin/orders/{order['order_id']}/line-items",
        json={"variant_id": variant, "quantity": quantity},
    )


def placed(
    server: LiveServer, quantity: int = 2, **shop_args: Any
) -> tuple[Shop, dict[str, Any], str]:
    shop = open_shop(server, **shop_args)
    with server.client() as client:
        cart, intent_id = authorized_cart(server, client, shop, quantity)
        done = client.post(f"/store/carts/{cart['id']}/complete")
        assert done.status_code == 200, done.text
    return shop, done.json(), intent_id


def aggregates(server: LiveServer, order_id: str) -> tuple[Order, PaymentCollection]:
    ledger = server.container.ledger
    order = ledger.repository.get(UUID(order_id))
    payment = ledger.repository.get(payment_collection_id_for(UUID(order_id)))
    return order, payment


def reserved(server: LiveServer, variant: str, location: str) -> int:
    return server.container.ledger.repository.get(
        inventory_level_id_for(variant, location)
    ).reserved


def test_a_customer_adds_a_line_and_the_hold_is_raised_before_anything_is_saved(
    server: LiveServer, standin: StandIn
) -> None:
    shop, order, intent_id = placed(server)
    before, _ = aggregates(server, order["order_id"])
    with server.client() as client:
        answer = client.post(
            f"/store/orders/{order['order_id']}/line-items",
            json={"variant_id": shop.other_variant, "quantity": 1},
            headers={"X-Order-Token": order["access_token"]},
        )
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    after, payment = aggregates(server, order["order_id"])
    book_line = 1999 + tax_on(1999, 700)  # the book's own 7 % rate, not the region's 20 %
    assert summary["total"] == after.total == before.total + book_line
    assert payment.amount == payment.authorized == after.total
    assert [t["kind"] for t in payment.transactions] == ["authorization", "increment"]
    assert payment.transactions[1]["amount"] == book_line
    assert standin.increments[-1][:2] == (intent_id, after.total)
    assert standin.increments[-1][2] == f"increment:{after.id}:{before.version}:{after.total}"
    assert reserved(server, shop.other_variant, shop.berlin) == 1
    assert isinstance(after.pending_events, list)
    assert any(type(e).__name__ == "Changed" for e in server.container.ledger.events.get(after.id))


def test_a_declined_increment_keeps_order_stock_and_payment_as_they_were(
    server: LiveServer, standin: StandIn
) -> None:
    shop, order, intent_id = placed(server)
    standin.declines.add(intent_id)
    head = settled_head(server)
    before = aggregates(server, order["order_id"])
    with server.admin() as admin:
        answer = admin_adds_line(admin, order, shop.variant, 5)
    assert answer.status_code == 402
    assert answer.json()["error"] == "CardDeclined"
    assert server.container.ledger.head == head
    after = aggregates(server, order["order_id"])
    assert [a.version for a in after] == [b.version for b in before]
    assert after[1].transactions == before[1].transactions
    assert reserved(server, shop.variant, shop.berlin) == 2
    assert server.stripe().v1.payment_intents.retrieve(intent_id).status == "requires_capture"


def test_a_lower_total_needs_no_stripe_call_and_the_capture_takes_the_new_amount(
    server: LiveServer, standin: StandIn
) -> None:
    shop, order, intent_id = placed(server, quantity=3)
    calls = len(standin.increments)
    line_id = aggregates(server, order["order_id"])[0].lines.popitem()[0]
    with server.client() as client:
        answer = client.post(
            f"/store/orders/{order['order_id']}/line-items/{line_id}",
            json={"quantity": 1},
            headers={"X-Order-Token": order["access_token"]},
        )
    assert answer.status_code == 200, answer.text
    assert len(standin.increments) == calls
    changed, payment = aggregates(server, order["order_id"])
    assert payment.amount == changed.total < payment.authorized
    assert reserved(server, shop.variant, shop.berlin) == 1
    with server.admin() as admin:
        assert admin.post(f"/admin/orders/{order['order_id']}/capture").status_code == 200
    _, payment = aggregates(server, order["order_id"])
    assert payment.captured == changed.total
    intent = server.stripe().v1.payment_intents.retrieve(intent_id)
    assert intent.status == "succeeded"


def test_a_wrong_or_missing_token_is_answered_as_if_the_order_did_not_exist(
    server: LiveServer,
) -> None:
    shop, order, _ = placed(server)
    with server.client() as client:
        for headers in ({}, {"X-Order-Token": "not-it"}):
            answer = client.post(
                f"/store/orders/{order['order_id']}/line-items",
                json={"variant_id": shop.variant, "quantity": 1},
                headers=headers,
            )
            assert answer.status_code == 404
            assert answer.json()["error"] == "OrderNotFound"


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"variant_id": "no-such-variant", "quantity": 1}, 400, "UnknownVariant"),
        ({"variant_id": "VARIANT", "quantity": 0}, 400, "InvalidQuantity"),
        ({"variant_id": "VARIANT", "quantity": -2}, 400, "InvalidQuantity"),
        ({"variant_id": "VARIANT", "quantity": 10**9}, 400, "InvalidQuantity"),
        ({"variant_id": "VARIANT", "quantity": 1, "unit_price": 1}, 422, "ValidationError"),
    ],
)
def test_bad_changes_are_refused_and_write_nothing(
    server: LiveServer, body: dict[str, Any], status: int, error: str
) -> None:
    shop, order, _ = placed(server)
    body = {k: (shop.variant if v == "VARIANT" else v) for k, v in body.items()}
    head = settled_head(server)
    with server.admin() as admin:
        answer = admin.post(f"/admin/orders/{order['order_id']}/line-items", json=body)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert server.container.ledger.head == head


def test_no_change_after_capture_or_cancel(server: LiveServer) -> None:
    shop, captured_order, _ = placed(server)
    _, canceled_order, _ = placed(server)
    with server.admin() as admin:
        assert admin.post(f"/admin/orders/{captured_order['order_id']}/capture").status_code == 200
        assert admin.post(f"/admin/orders/{canceled_order['order_id']}/cancel").status_code == 200
        head = settled_head(server)
        for order in (captured_order, canceled_order):
            answer = admin_adds_line(admin, order, shop.variant, 1)
            assert answer.status_code == 409
            assert answer.json()["error"] == "OrderNotEditable"
    assert server.container.ledger.head == head


def test_a_stale_if_match_is_a_conflict(server: LiveServer) -> None:
    shop, order, _ = placed(server)
    version = aggregates(server, order["order_id"])[0].version
    with server.admin() as admin:
        first = admin.post(
            f"/admin/orders/{order['order_id']}/line-items",
            json={"variant_id": shop.variant, "quantity": 1},
            headers={"If-Match": f'"{version}"'},
        )
        assert first.status_code == 200, first.text
        stale = admin.post(
            f"/admin/orders/{order['order_id']}/line-items",
            json={"variant_id": shop.other_variant, "quantity": 1},
            headers={"If-Match": f'"{version}"'},
        )
    assert stale.status_code == 409
    assert stale.json()["error"] == "VersionMismatch"


def test_simultaneous_changes_lose_no_update_and_reserve_nothing_twice(server: LiveServer) -> None:
    shop, order, _ = placed(server, quantity=1, stock=50)
    line_id = next(iter(aggregates(server, order["order_id"])[0].lines))

    def change(quantity: int) -> int:
        with server.admin() as admin:
            return admin.post(
                f"/admin/orders/{order['order_id']}/line-items/{line_id}",
                json={"quantity": quantity},
            ).status_code

    def add(_: int) -> int:
        with server.admin() as admin:
            return admin_adds_line(admin, order, shop.other_variant, 2).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(lambda f: f[0](f[1]), [(change, 4), (add, 0), (change, 3), (add, 0)])
        )
    assert set(statuses) == {200}
    final, payment = aggregates(server, order["order_id"])
    tee = final.lines[line_id].quantity
    books = sum(
        line.quantity for line in final.lines.values() if line.variant_id == shop.other_variant
    )
    assert tee in (3, 4) and books == 4
    assert reserved(server, shop.variant, shop.berlin) == tee
    assert reserved(server, shop.other_variant, shop.berlin) == books
    assert payment.amount == final.total


def test_without_increments_at_stripe_a_second_payment_intent_holds_the_difference(
    live_server: LiveServer,
) -> None:
    """localstripe cannot raise a hold: the difference is held on the saved card instead,
    captured together with the first, and refunds split over both."""
    shop = open_shop(live_server)
    with live_server.client() as client:
        cart, first_intent = authorized_cart(live_server, client, shop, 1)
        order = client.post(f"/store/carts/{cart['id']}/complete").json()
    with live_server.admin() as admin:
        answer = admin_adds_line(admin, order, shop.other_variant, 1)
        assert answer.status_code == 200, answer.text
        changed, payment = aggregates(live_server, order["order_id"])
        assert payment.amount == payment.authorized == changed.total
        assert list(payment.holds) == [first_intent, payment.payment_intent_ids[1]]
        second = payment.payment_intent_ids[1]
        supplement = live_server.stripe().v1.payment_intents.retrieve(second)
        assert supplement.status == "requires_capture"
        assert int(supplement.amount) == changed.total - cart["total"]
        assert [t["kind"] for t in payment.transactions] == ["authorization", "authorization"]

        assert admin.post(f"/admin/orders/{order['order_id']}/capture").status_code == 200
        for intent_id in (first_intent, second):
            assert live_server.stripe().v1.payment_intents.retrieve(intent_id).status == "succeeded"
        _, payment = aggregates(live_server, order["order_id"])
        assert payment.captured == changed.total
        assert payment.captured_by == {
            first_intent: cart["total"],
            second: changed.total - cart["total"],
        }

        refund = admin.post(
            f"/admin/orders/{order['order_id']}/refunds",
            json={"amount": changed.total, "reason": "all"},
        )
        assert refund.status_code == 200, refund.text
    _, payment = aggregates(live_server, order["order_id"])
    assert payment.refunded_by == payment.captured_by
    assert payment.status == "refunded"


def test_with_no_fallback_a_larger_total_is_refused_with_a_reason(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> None:
    with server_of_its_own(
        database_url, redis_url, stripe_emulator, increment_fallback="none"
    ) as server:
        shop, order, _ = placed(server, quantity=1)
        head = settled_head(server)
        with server.admin() as admin:
            answer = admin_adds_line(admin, order, shop.variant, 1)
        assert answer.status_code == 409
        assert answer.json()["error"] == "IncrementUnavailable"
        assert server.container.ledger.head == head


change_steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(["tee", "book"]), st.integers(1, 4)),
        st.tuples(st.just("set"), st.integers(0, 5), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=change_steps)
def test_any_sequence_of_changes_keeps_totals_stock_and_payment_in_step(
    server: LiveServer, steps: list[tuple[Any, ...]]
) -> None:
    from commands.order_changes import add_line_item, change_line_item
    from domain.errors import DomainError

    shop, order, _ = placed(server, quantity=1, stock=100)
    services = server.container.services
    order_id = UUID(order["order_id"])
    for step in steps:
        current, _ = aggregates(server, order["order_id"])
        try:
            if step[0] == "add":
                variant = shop.variant if step[1] == "tee" else shop.other_variant
                add_line_item(services, order_id, variant_id=variant, quantity=step[2], by="test")
            else:
                line_ids = list(current.lines)
                change_line_item(
                    services,
                    order_id,
                    line_ids[step[1] % len(line_ids)],
                    quantity=step[2],
                    by="test",
                )
        except DomainError:
            pass  # e.g. removing the last line: refused, nothing written
    final, payment = aggregates(server, order["order_id"])
    assert payment.amount == final.total <= payment.authorized
    for variant in (shop.variant, shop.other_variant):
        on_lines = sum(line.quantity for line in final.lines.values() if line.variant_id == variant)
        assert reserved(server, variant, shop.berlin) == on_lines
    assert final.tax_total == sum(
        tax_on(line.unit_price * line.quantity, line.tax_rate_bp) for line in final.lines.values()
    ) + (tax_on(final.shipping.amount, final.shipping.tax_rate_bp) if final.shipping else 0)


def test_a_supplemented_order_passes_the_audit_and_its_views_agree(live_server: LiveServer) -> None:
    from typer.testing import CliRunner

    from infra.cli import app as cli

    shop, order, _ = placed(live_server, quantity=1)
    with live_server.admin() as admin:
        changed = admin_adds_line(admin, order, shop.variant, 2)
        assert changed.status_code == 200, changed.text
        position = changed.headers["X-Ledger-Position"]
        detail = admin.get(f"/admin/orders/{order['order_id']}?min_position={position}").json()
        rows = admin.get(
            f"/admin/orders/{order['order_id']}/transactions?min_position={position}"
        ).json()
    assert detail["payment"]["authorized"] == detail["total"] == changed.json()["total"]
    assert [r["kind"] for r in rows] == ["authorization", "authorization"]
    assert sum(r["amount"] for r in rows) == detail["total"]
    result = CliRunner().invoke(
        cli,
        ["audit", "replay", order["order_id"], "--json"],
        env={"DATABASE_URL": live_server.container.database_url},
    )
    assert result.exit_code == 0, result.output
    assert '"authorization"' in result.output
