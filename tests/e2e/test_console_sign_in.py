"""Console sign-in, sessions and CSRF over HTTP (the shared live server: nothing here
depends on what else its pages show)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer
from tests.e2e.console_flow import (
    csrf_in,
    placed_order,
    signed_in,
    wait_for_order,
)

PAGES = (
    "/console",
    "/console/orders",
    "/console/inventory",
    "/console/reviews",
    "/console/projections",
)


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
