"""The console's overview, orders and order actions over HTTP, then audit verify agreeing
with what they did. The browser drives the same pages in ``test_console_browser.py``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import LiveServer, Shop, open_shop
from tests.e2e.console_flow import (
    confirmed,
    console_server,
    csrf_in,
    job_done,
    payment_of,
    placed_order,
    signed_in,
    wait_for_order,
    wait_until_scheduled,
)


@pytest.fixture(scope="module")
def live_server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with console_server(database_url, redis_url, stripe_emulator, redis_db=11) as server:
        yield server


@pytest.fixture
def make_shop(live_server: LiveServer) -> Callable[..., Shop]:
    return lambda **kwargs: open_shop(live_server, **kwargs)


def test_the_overview_shows_todays_money_the_captures_due_and_the_views(
    live_server: LiveServer, make_shop: Any
) -> None:
    shop: Shop = make_shop(stock=1, backorder=True)
    order = placed_order(live_server, shop, quantity=3)  # two short: a backorder
    wait_until_scheduled(live_server, order["order_id"])
    short = f"{shop.variant} at {shop.berlin}: short 2"
    models, ledger = live_server.container.read_models, live_server.container.ledger
    deadline = time.monotonic() + 10
    with signed_in(live_server) as client:
        page = client.get("/console")
        while short not in page.text and time.monotonic() < deadline:
            # The process manager records the shortfall a moment later: wait for news.
            models.wait_for(ledger.head + 1, ["backorders"], 0.5)
            page = client.get("/console")
        inventory = client.get("/console/inventory", params={"variant": shop.variant})
    assert page.status_code == 200
    assert short in page.text
    assert shop.variant in inventory.text.split("<h2>Backorders</h2>")[1]
    assert "EUR" in page.text
    assert order["order_id"][:8] in page.text  # due within the hour (grace is one hour)
    assert "data-countdown" in page.text
    assert "admin_orders" in page.text
    assert "Last audit verify" in page.text


def test_orders_are_found_by_order_id_payment_intent_or_e_mail_and_filtered(
    live_server: LiveServer, make_shop: Any
) -> None:
    order = placed_order(live_server, make_shop())
    wait_for_order(live_server, order["order_id"])
    link = f'/console/orders/{order["order_id"]}"'
    with signed_in(live_server) as client:
        by_id = client.get("/console/orders", params={"q": order["order_id"]})
        by_intent = client.get("/console/orders", params={"q": order["payment_intent_id"]})
        by_email = client.get("/console/orders", params={"q": "ADA@example"})
        placed = client.get("/console/orders", params={"status": "placed"})
        captured = client.get(
            "/console/orders", params={"q": order["order_id"], "status": "captured"}
        )
        nobody = client.get("/console/orders", params={"q": "nobody@example.com"})
        second_page = client.get("/console/orders", params={"offset": 25})
    assert link in by_id.text and "1 order(s)" in by_id.text
    assert link in by_intent.text and "1 order(s)" in by_intent.text
    assert link in by_email.text
    assert link in placed.text
    assert link not in captured.text and "0 order(s)" in captured.text
    assert "0 order(s)" in nobody.text
    assert second_page.status_code == 200


def test_an_order_page_shows_lines_totals_payment_and_the_timeline_from_the_replay(
    live_server: LiveServer, make_shop: Any
) -> None:
    shop: Shop = make_shop()
    order = placed_order(live_server, shop)
    wait_for_order(live_server, order["order_id"])
    with signed_in(live_server) as client:
        page = client.get(f"/console/orders/{order['order_id']}")
        unknown = client.get("/console/orders/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 200
    assert shop.variant in page.text
    assert order["payment_intent_id"] in page.text
    assert '<svg class="timeline"' in page.text
    assert 'class="movement-authorization"' in page.text
    assert "PaymentCollection.Authorized" in page.text  # the event history
    assert unknown.status_code == 404 and "NotFound" in unknown.text


def test_capture_and_refunds_are_confirmed_first_and_a_refund_too_large_shows_the_apis_error(
    live_server: LiveServer, make_shop: Any
) -> None:
    order = placed_order(live_server, make_shop())
    order_id = order["order_id"]
    wait_for_order(live_server, order_id)
    base = f"/console/orders/{order_id}"
    with signed_in(live_server) as client:
        token = csrf_in(client.get(base).text)
        asked = client.post(f"{base}/capture", data={"csrf": token})
        assert payment_of(live_server, order_id)["captured"] == 0  # asking did nothing
        assert asked.status_code == 200 and "Capture the payment now?" in asked.text
        captured = confirmed(client, f"{base}/capture")
        assert captured.status_code == 303
        # A form's currency is never believed: 5.00 is read in the order's (EUR).
        refund = {"csrf": token, "amount": "5.00", "currency": "jpy", "reason": ""}
        asked = client.post(f"{base}/refund", data=refund)
        attempt = re.search(r'name="attempt" value="([^"]+)"', asked.text)
        assert attempt is not None
        yes = {**refund, "confirmed": "yes", "attempt": attempt.group(1)}
        refunded = client.post(f"{base}/refund", data=yes)
        twice = client.post(f"{base}/refund", data=yes)  # a double click, a replay
        unasked = client.post(f"{base}/refund", data={**refund, "confirmed": "yes"})
        assert refunded.status_code == 303
        assert twice.status_code == 409 and "AlreadySubmitted" in twice.text
        assert unasked.status_code == 200 and "Yes, do it" in unasked.text  # asks first
        too_much = confirmed(client, f"{base}/refund", amount="9999.00")
        page = client.get(base)
    with live_server.admin() as admin:
        api = admin.post(f"/admin/orders/{order_id}/refunds", json={"amount": 999_900})
    assert too_much.status_code == api.status_code
    assert api.json()["error"] in too_much.text
    assert re.search(r"<strong>\w+</strong>: ", too_much.text)
    payment = payment_of(live_server, order_id)
    assert payment["captured"] > 0 and payment["refunded"] == 500
    assert 'class="movement-capture"' in page.text and 'class="movement-refund"' in page.text
    left = payment["captured"] - 500
    assert f'data-field="refundable">{left // 100}.{left % 100:02d} EUR<' in page.text


def test_a_quantity_changes_in_the_grace_period_but_a_stale_page_is_refused(
    live_server: LiveServer, make_shop: Any
) -> None:
    order = placed_order(live_server, make_shop(), quantity=3)
    order_id = order["order_id"]
    before = wait_for_order(live_server, order_id)
    line = before["items"][0]["id"]
    path = f"/console/orders/{order_id}/line-items/{line}"
    with signed_in(live_server) as client:
        stale = str(before["version"] - 1)
        refused = confirmed(client, path, quantity="2", version=stale)
        changed = confirmed(client, path, quantity="2", version=str(before["version"]))
        again = confirmed(client, path, quantity="1", version=str(before["version"]))
    assert refused.status_code == 409 and "VersionMismatch" in refused.text
    assert changed.status_code == 303
    assert again.status_code == 409  # the page that changed it is stale now
    after = wait_for_order(live_server, order_id)
    assert after["items"][0]["quantity"] == 2 and after["total"] < before["total"]


def test_a_line_is_added_with_the_orders_version(live_server: LiveServer, make_shop: Any) -> None:
    shop: Shop = make_shop()
    order = placed_order(live_server, shop, quantity=2)
    before = wait_for_order(live_server, order["order_id"])
    path = f"/console/orders/{order['order_id']}/line-items"
    version = str(before["version"])
    with signed_in(live_server) as client:
        unknown = confirmed(client, path, variant_id="no-such", quantity="1", version=version)
        bad_quantity = confirmed(
            client, path, variant_id=shop.variant, quantity="lots", version=version
        )
        added = confirmed(
            client, path, variant_id=shop.other_variant, quantity="1", version=version
        )
        stale = confirmed(
            client, path, variant_id=shop.other_variant, quantity="1", version=version
        )
        page = client.get(f"/console/orders/{order['order_id']}")
    assert unknown.status_code == 400 and "UnknownVariant" in unknown.text
    assert bad_quantity.status_code == 400 and "InvalidQuantity" in bad_quantity.text
    assert added.status_code == 303
    assert stale.status_code == 409 and "VersionMismatch" in stale.text
    after = wait_for_order(live_server, order["order_id"])
    assert [item["variant_id"] for item in after["items"]] == [shop.variant, shop.other_variant]
    assert after["total"] > before["total"]
    assert shop.other_variant in page.text


def test_cancel_voids_the_payment(live_server: LiveServer, make_shop: Any) -> None:
    order = placed_order(live_server, make_shop())
    wait_for_order(live_server, order["order_id"])
    with signed_in(live_server) as client:
        answer = confirmed(client, f"/console/orders/{order['order_id']}/cancel")
    assert answer.status_code == 303
    assert wait_for_order(live_server, order["order_id"])["status"] == "canceled"


def test_a_view_is_rebuilt_and_audit_verify_reports_with_progress(
    live_server: LiveServer,
) -> None:
    with signed_in(live_server) as client:
        page = client.get("/console/projections")
        token = csrf_in(page.text)
        asked = client.post("/console/projections/rebuild", data={"csrf": token, "name": "reviews"})
        started = client.post(
            "/console/projections/rebuild",
            data={"csrf": token, "name": "reviews", "confirmed": "yes"},
        )  # a rebuild twice is harmless: no confirmation token
        unknown = client.post(
            "/console/projections/rebuild",
            data={"csrf": token, "name": "nope", "confirmed": "yes"},
        )
        rebuilt = job_done(client, started.headers["location"])
        verify = client.post("/console/audit/verify", data={"csrf": token})
        verified = job_done(client, verify.headers["location"])
        overview = client.get("/console")
    assert "admin_orders" in page.text and "Rebuild" in page.text
    assert "Rebuild the view reviews" in asked.text
    assert started.status_code == 303 and unknown.status_code == 404
    assert "Rebuilt: generation" in rebuilt and 'value="100"' in rebuilt
    assert 'data-field="verdict">No violations' in verified
    assert "No violations" in overview.text


def test_the_overview_shows_the_last_verify_even_when_the_cli_ran_it(
    live_server: LiveServer,
) -> None:
    from typer.testing import CliRunner

    from infra.cli import app

    env = {"DATABASE_URL": live_server.container.database_url, "REDIS_URL": None}
    result = CliRunner().invoke(app, ["audit", "verify"], env=env)
    assert result.exit_code == 0, result.output
    with signed_in(live_server) as client:
        overview = client.get("/console")
        tasks = client.get("/console/projections")
    assert "No violations" in overview.text
    assert "verify audit</a>: done" in tasks.text
    assert "by cli" in client_job_page(live_server, tasks.text)


def client_job_page(server: LiveServer, tasks_page: str) -> str:
    job = re.search(r'href="(/console/jobs/[0-9a-f]+)">verify audit', tasks_page)
    assert job is not None
    with signed_in(server) as client:
        return client.get(job.group(1)).text
