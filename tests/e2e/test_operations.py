"""Operations: admin keys on every admin route, CORS per surface, idempotency keys,
readiness, metrics, logs without secrets, request limits."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from infra.app import create_app
from infra.stripe_emulator import RunningEmulator
from infra.web.observability import JsonFormatter
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import LiveServer, open_shop, running_server


def admin_routes() -> list[tuple[str, str]]:
    """Every /admin operation the app declares (so a new route cannot be forgotten)."""
    app = create_app(container_factory=lambda: None)  # type: ignore[arg-type]
    found = []
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/admin"):
            concrete = re.sub(r"\{[a-z_]+\}", str(uuid.uuid4()), path)
            found += [(method.upper(), concrete) for method in sorted(operations)]
    return found


ADMIN_ROUTES = admin_routes()


def test_every_admin_route_is_enumerated() -> None:
    assert len(ADMIN_ROUTES) >= 12
    assert ("POST", "/admin/catalog") in ADMIN_ROUTES


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_every_admin_route_refuses_a_missing_wrong_or_revoked_key(
    live_server: LiveServer, method: str, path: str
) -> None:
    keys = live_server.container.admin_keys
    key_id, revoked = keys.create("soon revoked")
    keys.revoke(key_id)
    with live_server.client() as client:
        for headers in (
            {},
            {"Authorization": "Bearer olk_nope_nope"},
            {"Authorization": f"Bearer {revoked}"},
        ):
            answer = client.request(method, path, headers=headers, json={})
            assert answer.status_code == 401, (method, path, headers, answer.text)
            assert answer.json()["error"] == "NotAuthenticated"


@pytest.fixture(scope="module")
def cors_server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with running_server(
        database_url,
        redis_url,
        stripe_emulator,
        store_cors=["https://shop.example"],
        admin_cors=["https://admin.example"],
        rate_limit_carts_per_minute=3,
    ) as server:
        yield server


def preflight(server: LiveServer, path: str, origin: str) -> dict[str, str]:
    with server.client() as client:
        answer = client.options(
            path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )
    return {k.lower(): v for k, v in answer.headers.items()}


def test_cors_preflight_answers_per_surface(cors_server: LiveServer) -> None:
    store = preflight(cors_server, "/store/carts", "https://shop.example")
    assert store.get("access-control-allow-origin") == "https://shop.example"
    assert "X-Order-Token".lower() in store.get("access-control-allow-headers", "").lower()
    admin = preflight(cors_server, "/admin/orders", "https://admin.example")
    assert admin.get("access-control-allow-origin") == "https://admin.example"
    # The shop's origin may not call the admin API, nor the admin's origin the store.
    assert "access-control-allow-origin" not in preflight(
        cors_server, "/admin/orders", "https://shop.example"
    )
    assert "access-control-allow-origin" not in preflight(
        cors_server, "/store/carts", "https://admin.example"
    )
    assert "access-control-allow-origin" not in preflight(
        cors_server, "/store/carts", "https://evil.example"
    )


def test_cart_creation_is_rate_limited_per_client_with_retry_after(cors_server: LiveServer) -> None:
    shop = open_shop(cors_server)
    body = {"region_id": shop.region, "sales_channel_id": shop.channel, "email": "a@example.com"}
    with cors_server.client() as client:
        statuses = [client.post("/store/carts", json=body) for _ in range(6)]
    limited = [a for a in statuses if a.status_code == 429]
    assert limited and all(a.status_code in (201, 429) for a in statuses)
    assert limited[0].json()["error"] == "TooManyRequests"
    assert int(limited[0].headers["Retry-After"]) >= 1


def test_a_body_over_the_limit_is_refused(live_server: LiveServer) -> None:
    with live_server.client() as client:
        answer = client.post(
            "/store/carts",
            content=b"{" + b" " * (2 << 20) + b"}",
            headers={"Content-Type": "application/json"},
        )
        # A read takes no body: one sent anyway is not read, let alone counted.
        read = client.request("GET", "/health", content=b" " * (2 << 20))
    assert answer.status_code == 413
    assert answer.json()["error"] == "PayloadTooLarge"
    assert read.status_code == 200


def test_an_idempotency_key_replays_the_first_answer_and_does_nothing_again(
    live_server: LiveServer,
) -> None:
    shop = open_shop(live_server)
    body = {"region_id": shop.region, "sales_channel_id": shop.channel, "email": "a@example.com"}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    with live_server.client() as client:
        first = client.post("/store/carts", json=body, headers=key)
        head = live_server.container.ledger.head
        again = client.post("/store/carts", json=body, headers=key)
        other = client.post("/store/carts", json={**body, "email": "b@example.com"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert live_server.container.ledger.head == head
    assert other.status_code == 422
    assert other.json()["error"] == "IdempotencyKeyReused"


def test_concurrent_requests_with_one_key_run_once(live_server: LiveServer) -> None:
    shop = open_shop(live_server)
    with live_server.client() as client:
        cart, _ = authorized_cart(live_server, client, shop, 1)
    key = {"Idempotency-Key": uuid.uuid4().hex}

    def complete(_: int) -> tuple[int, str]:
        with live_server.client() as client:
            answer = client.post(f"/store/carts/{cart['id']}/complete", headers=key)
            return answer.status_code, answer.text

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(complete, range(6)))
    statuses = {status for status, _ in answers}
    assert statuses <= {200, 409}
    assert 200 in statuses
    bodies = {text for status, text in answers if status == 200}
    assert len(bodies) == 1
    conflicts = [json.loads(text) for status, text in answers if status == 409]
    assert all(c["error"] == "IdempotencyKeyInProgress" for c in conflicts)


def test_metrics_count_requests_captures_and_projection_lag(live_server: LiveServer) -> None:
    with live_server.client() as client:
        client.get("/health")
        text = client.get("/metrics").text
    assert 'orderledger_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert "orderledger_projection_lag_events" in text
    assert "orderledger_event_store_append_seconds_count" in text


def test_logs_carry_no_email_key_token_or_client_secret_after_a_checkout(
    live_server: LiveServer,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        shop = open_shop(live_server)
        with live_server.client() as client:
            cart, intent_id = authorized_cart(live_server, client, shop, 1)
            done = client.post(f"/store/carts/{cart['id']}/complete").json()
            # The request id is the client's to choose, and echoed back as chosen.
            echoed = client.get("/health", headers={"x-request-id": "ada@example.com"})
            secret = live_server.stripe().v1.payment_intents.retrieve(intent_id).client_secret
            logging.getLogger("probe").warning(
                "a careless line: ada@example.com %s %s %s",
                live_server.admin_key,
                secret,
                done["access_token"],
            )
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    output = stream.getvalue()
    assert '"request_id"' in output and '"route": "/store/carts/{cart_id}/complete"' in output
    assert echoed.headers["x-request-id"] == "ada@example.com"
    assert '"request_id": "<email>", "method": "GET", "route": "/health"' in output
    for leak in ("ada@example.com", live_server.admin_key, secret, done["access_token"]):
        assert leak not in output
