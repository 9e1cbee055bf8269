"""The console's page handlers over HTTP: sessions, CSRF, every page and every action.

The browser drives the same pages in ``test_console_browser.py``; here each handler is
checked on its own, against the live server (PostgreSQL, Redis, localstripe, the worker).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from psycopg.types.json import Jsonb

from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import LiveServer, Shop, open_shop
from tests.e2e.console_flow import (
    console_server,
    csrf_in,
    placed_order,
    signed_in,
    wait_for_order,
    wait_until_scheduled,
)

PAGES = (
    "/console",
    "/console/orders",
    "/console/inventory",
    "/console/reviews",
    "/console/projections",
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


def confirmed(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """Post an action, check it asks first, then confirm it."""
    page = client.get("/console")
    token = csrf_in(page.text)
    asked = client.post(path, data={"csrf": token, **fields})
    assert asked.status_code == 200 and "Yes, do it" in asked.text, asked.text
    attempt = re.search(r'name="attempt" value="([^"]+)"', asked.text)
    assert attempt is not None
    return client.post(
        path, data={"csrf": token, **fields, "confirmed": "yes", "attempt": attempt.group(1)}
    )


def payment_of(server: LiveServer, order_id: str) -> dict[str, Any]:
    return dict(wait_for_order(server, order_id)["payment"])


def job_done(client: httpx.Client, location: str) -> str:
    deadline = time.monotonic() + 60
    while True:
        page = client.get(location)
        assert page.status_code == 200
        if 'data-status="running"' not in page.text:
            return page.text
        assert time.monotonic() < deadline, "the task did not finish"
        time.sleep(0.1)  # polling a task page, as the browser does


def test_without_a_session_pages_send_you_to_sign_in_and_forms_are_refused(
    live_server: LiveServer, make_shop: Any
) -> None:
    order = placed_order(live_server, make_shop())
    with live_server.client(follow_redirects=False) as anonymous:
        for path in (*PAGES, f"/console/orders/{order['order_id']}"):
            answer = anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/console/sign-in"
        refused = anonymous.post(
            f"/console/orders/{order['order_id']}/cancel", data={"csrf": "x", "confirmed": "yes"}
        )
    assert refused.status_code == 401
    assert "NotAuthenticated" in refused.text
    assert wait_for_order(live_server, order["order_id"])["status"] == "placed"


def test_signing_in_sets_a_strict_http_only_cookie_and_the_key_never_travels_again(
    live_server: LiveServer,
) -> None:
    with live_server.client(follow_redirects=False) as client:
        form = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in", data={"csrf": csrf_in(form.text), "key": live_server.admin_key}
        )
        cookie = answer.headers["set-cookie"]
        overview = client.get("/console")
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    assert "orderledger_console=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over TLS the cookie is Secure
    assert live_server.admin_key not in cookie
    assert overview.status_code == 200 and "Overview" in overview.text
    assert live_server.admin_key not in overview.text
    assert overview.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in overview.headers["content-security-policy"]


def test_over_tls_the_session_cookie_is_secure(live_server: LiveServer) -> None:
    # uvicorn takes the scheme from X-Forwarded-Proto when the proxy is 127.0.0.1.
    tls = {"X-Forwarded-Proto": "https"}
    with live_server.client(follow_redirects=False, headers=tls) as client:
        form = client.get("/console/sign-in")
        assert "Secure" in form.headers["set-cookie"]
        # httpx rightly keeps a Secure cookie off plain HTTP: the test's proxy sends it.
        token = csrf_in(form.text)
        answer = client.post(
            "/console/sign-in",
            data={"csrf": token, "key": live_server.admin_key},
            headers={"Cookie": f"orderledger_console_sign_in={token}"},
        )
    cookie = answer.headers["set-cookie"]
    assert "orderledger_console=" in cookie and "Secure" in cookie


def test_the_key_never_reaches_the_request_log(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="orderledger.requests")
    with signed_in(live_server) as client:
        client.get("/console/orders")
    logged = [str(getattr(r, "fields", "")) + r.getMessage() for r in caplog.records]
    assert any("/console/sign-in" in line for line in logged)
    assert not any(live_server.admin_key in line for line in logged)


def test_a_wrong_key_or_a_sign_in_form_from_elsewhere_gets_no_session(
    live_server: LiveServer,
) -> None:
    with live_server.client(follow_redirects=False) as client:
        form = client.get("/console/sign-in")
        wrong = client.post(
            "/console/sign-in", data={"csrf": csrf_in(form.text), "key": "olk_nope_nope"}
        )
        assert wrong.headers["location"] == "/console/sign-in?error=key"
        assert "orderledger_console=" not in wrong.headers.get("set-cookie", "")
        assert "not valid" in client.get(wrong.headers["location"]).text
    with live_server.client(follow_redirects=False) as forged:
        answer = forged.post(
            "/console/sign-in", data={"csrf": "made-up", "key": live_server.admin_key}
        )
    assert answer.headers["location"] == "/console/sign-in?error=form"
    assert "orderledger_console=" not in answer.headers.get("set-cookie", "")


def test_a_form_with_a_wrong_csrf_token_is_refused_and_nothing_is_done(
    live_server: LiveServer, make_shop: Any
) -> None:
    order = placed_order(live_server, make_shop())
    with signed_in(live_server) as client:
        for token in ("wrong", ""):
            answer = client.post(
                f"/console/orders/{order['order_id']}/cancel",
                data={"csrf": token, "confirmed": "yes"},
            )
            assert answer.status_code == 403
            assert "CsrfRejected" in answer.text
    assert wait_for_order(live_server, order["order_id"])["status"] == "placed"


def test_a_revoked_key_ends_its_sessions_at_the_next_request(live_server: LiveServer) -> None:
    key_id, key = live_server.container.admin_keys.create("console-revoked")
    with signed_in(live_server, key) as client:
        assert client.get("/console").status_code == 200
        live_server.container.admin_keys.revoke(key_id)
        after = client.get("/console")
    assert after.status_code == 303 and after.headers["location"] == "/console/sign-in"


def test_signing_out_ends_the_session(live_server: LiveServer) -> None:
    with signed_in(live_server) as client:
        token = csrf_in(client.get("/console").text)
        out = client.post("/console/sign-out", data={"csrf": token})
        assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
        assert client.get("/console").status_code == 303
    # The old cookie is dead on the server too, not only deleted in this browser.
    with signed_in(live_server) as client:
        cookie = client.cookies["orderledger_console"]
        token = csrf_in(client.get("/console").text)
        client.post("/console/sign-out", data={"csrf": token})
    with live_server.client(follow_redirects=False) as replay:
        replay.cookies.set("orderledger_console", cookie, path="/console")
        assert replay.get("/console").status_code == 303


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


def test_inventory_is_adjusted_and_backorders_toggled_through_the_use_case(
    live_server: LiveServer, make_shop: Any
) -> None:
    shop: Shop = make_shop(stock=10)
    with signed_in(live_server) as client:
        token = csrf_in(client.get("/console/inventory", params={"variant": shop.variant}).text)
        level = {"variant_id": shop.variant, "location_id": shop.berlin, "variant": shop.variant}
        adjusted = client.post(
            "/console/inventory", data={"csrf": token, **level, "adjustment": "-3"}
        )
        toggled = client.post(
            "/console/inventory", data={"csrf": token, **level, "allow_backorder": "on"}
        )
        nonsense = client.post(
            "/console/inventory", data={"csrf": token, **level, "adjustment": "x"}
        )
        unknown = client.post(
            "/console/inventory",
            data={"csrf": token, **level, "location_id": "nowhere", "adjustment": "1"},
        )
        nothing = client.post("/console/inventory", data={"csrf": token, **level, "adjustment": ""})
        page = client.get("/console/inventory", params={"variant": shop.variant})
    assert adjusted.status_code == 303 and toggled.status_code == 303
    assert nonsense.status_code == 400 and "InvalidQuantity" in nonsense.text
    assert unknown.status_code == 400
    assert nothing.status_code == 400 and "NothingToChange" in nothing.text
    with live_server.admin() as admin:
        levels = admin.get("/admin/inventory-levels", params={"variant_id": shop.variant}).json()
    berlin = next(row for row in levels if row["location_id"] == shop.berlin)
    assert berlin["stocked_quantity"] == 7 and berlin["allow_backorder"] is True
    assert "Turn off" in page.text and "Backorders" in page.text


def test_reviews_are_approved_and_rejected_from_the_queue(
    live_server: LiveServer, make_shop: Any
) -> None:
    shop: Shop = make_shop()
    product = f"tee-{shop.suffix}"
    with live_server.client() as store:
        ids = [
            store.post(
                f"/store/products/{product}/reviews",
                json={"rating": r, "title": f"<b>t{r}</b>", "author_name": "Ada"},
            ).json()["id"]
            for r in (5, 1)
        ]
    with signed_in(live_server) as client:
        queue = client.get("/console/reviews")
        while ids[1] not in queue.text:  # the review view catches up
            queue = client.get("/console/reviews")
        token = csrf_in(queue.text)
        approved = client.post(f"/console/reviews/{ids[0]}/approve", data={"csrf": token})
        rejected = client.post(
            f"/console/reviews/{ids[1]}/reject", data={"csrf": token, "reason": "spam"}
        )
        again = client.post(f"/console/reviews/{ids[0]}/approve", data={"csrf": token})
        unknown = client.post(
            "/console/reviews/00000000-0000-0000-0000-000000000000/approve", data={"csrf": token}
        )
        after = client.get("/console/reviews")
        rejected_list = client.get("/console/reviews", params={"status": "rejected"})
    assert "&lt;b&gt;t5&lt;/b&gt;" in queue.text and "<b>t5</b>" not in queue.text
    assert 'data-slot="photos"' in queue.text
    assert approved.status_code == 303 and rejected.status_code == 303
    assert again.status_code == 303  # approving twice is one approval, as in the API
    assert unknown.status_code == 404 and "ReviewNotFound" in unknown.text
    assert ids[0] not in after.text and ids[1] not in after.text
    assert ids[1] in rejected_list.text and "spam" in rejected_list.text


def test_a_verify_task_shows_its_findings(live_server: LiveServer) -> None:
    # A finished task as a run that found something leaves it (written here directly:
    # a real violation would need a broken store).
    finding = {
        "order_id": "2b1e6d0c-0000-4000-8000-000000000001",
        "payment_collection_id": "2b1e6d0c-0000-4000-8000-000000000002",
        "rule": "refunded_above_captured",
        "detail": "refunded 12.00 EUR of 10.00 EUR captured",
        "events": ["#812 PaymentCollection.Refunded"],
    }
    result = {
        "ok": False,
        "violations": 1,
        "events": 9,
        "head": 9,
        "orders": 1,
        "collections": 1,
        "view_position": 9,
        "currencies": {},
        "findings": [finding],
    }
    with live_server.container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO orderledger.console_jobs (id, kind, target, status, position, head, "
            "result, started_by, finished_at) VALUES ('findings-test', 'verify', 'audit', "
            "'done', 9, 9, %s, 'test', now())",
            (Jsonb(result),),
        )
    with signed_in(live_server) as client:
        page = client.get("/console/jobs/findings-test")
        missing = client.get("/console/jobs/no-such-task")
    assert 'data-field="verdict">1 violation(s)' in page.text
    assert "refunded_above_captured" in page.text and "#812 PaymentCollection.Refunded" in page.text
    assert f"/console/orders/{finding['order_id']}" in page.text
    assert missing.status_code == 404


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
