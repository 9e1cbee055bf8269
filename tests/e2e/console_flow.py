"""Steps the console tests share: sign in over plain HTTP, place orders, read forms."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import LiveServer, Shop, server_of_its_own

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_in(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@contextmanager
def console_server(
    database_url: str, redis_url: str, emulator: RunningEmulator, redis_db: int
) -> Iterator[LiveServer]:
    """A server of the console tests' own: a fresh database, so the pages show only theirs."""
    with server_of_its_own(database_url, redis_url, emulator, redis_db=redis_db) as live:
        yield live


@contextmanager
def signed_in(server: LiveServer, key: str | None = None) -> Iterator[httpx.Client]:
    """A client with a console session (the key is sent once, in the sign-in form)."""
    with server.client(follow_redirects=False) as client:
        form = client.get("/console/sign-in")
        answer = client.post(
            "/console/sign-in", data={"csrf": csrf_in(form.text), "key": key or server.admin_key}
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/console", answer.text
        yield client


def placed_order(server: LiveServer, shop: Shop, quantity: int = 2) -> dict[str, Any]:
    with server.client() as client:
        cart, intent_id = authorized_cart(server, client, shop, quantity)
        done = client.post(f"/store/carts/{cart['id']}/complete")
    assert done.status_code == 200, done.text
    return {**done.json(), "payment_intent_id": intent_id}


def wait_until_scheduled(server: LiveServer, order_id: str) -> dict[str, Any]:
    """The order once its capture is scheduled (the worker does it) and every view has it."""
    deadline = time.monotonic() + 10
    while True:
        order = wait_for_order(server, order_id)
        if order["payment"]["capture_due_at"]:
            ledger = server.container.ledger
            server.container.read_models.wait_for(ledger.head, ["capture_schedule"])
            return order
        assert time.monotonic() < deadline, "the capture was never scheduled"
        server.container.read_models.wait_for(
            server.container.ledger.head + 1, ["admin_orders"], 0.2
        )


def wait_for_order(server: LiveServer, order_id: str) -> dict[str, Any]:
    """The admin's view of the order once the views have it."""
    with server.admin() as admin:
        for _ in range(200):
            answer = admin.get(f"/admin/orders/{order_id}")
            if answer.status_code == 200:
                return dict(answer.json())
            server.container.read_models.wait_for(server.container.ledger.head, ["admin_orders"])
    raise AssertionError(f"order {order_id} never reached the admin view")


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
