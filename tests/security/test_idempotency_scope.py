"""Finding 7: an Idempotency-Key belongs to its caller, is checked after authentication,
keeps no secret readable in the table, and is purged after 24 hours."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from infra.database import conninfo
from infra.schema import SCHEMA
from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import cart_with
from tests.e2e.conftest import LiveServer, Shop, authorize_at_stripe, open_shop
from tests.security.edge_server import an_address, client_of, edge_server


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with edge_server(
        database_url, redis_url, stripe_emulator.url, trusted_proxies=["127.0.0.1/32"]
    ) as live:
        yield live


@pytest.fixture(scope="module")
def shop(server: LiveServer) -> Shop:
    return open_shop(server)


def a_new_cart(shop: Shop, email: str = "ada@example.com") -> dict[str, Any]:
    return {"region_id": shop.region, "sales_channel_id": shop.channel, "email": email}


def rows(server: LiveServer) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo(server.container.database_url)) as conn:
        return conn.execute(
            f"SELECT scope, key, response_body, created_at FROM {SCHEMA}.idempotency_keys"
        ).fetchall()


def test_another_caller_with_the_same_key_does_not_get_the_victims_cart(
    server: LiveServer, shop: Shop
) -> None:
    key = f"checkout-{uuid.uuid4().hex[:6]}"
    with client_of(server) as proxy:
        victim = proxy.post(
            "/store/carts",
            json=a_new_cart(shop),
            headers={"Idempotency-Key": key, "X-Forwarded-For": an_address()},
        )
        thief = proxy.post(
            "/store/carts",
            json=a_new_cart(shop),
            headers={"Idempotency-Key": key, "X-Forwarded-For": an_address()},
        )
    assert victim.status_code == thief.status_code == 201
    assert thief.json()["id"] != victim.json()["id"]
    assert "idempotent-replayed" not in thief.headers


def test_a_key_cannot_be_squatted_by_another_caller(server: LiveServer, shop: Shop) -> None:
    key = f"checkout-{uuid.uuid4().hex[:6]}"
    with client_of(server) as proxy:
        squatter = proxy.post(
            "/store/carts",
            json=a_new_cart(shop, "squat@example.com"),
            headers={"Idempotency-Key": key, "X-Forwarded-For": an_address()},
        )
        victim = proxy.post(
            "/store/carts",
            json=a_new_cart(shop),
            headers={"Idempotency-Key": key, "X-Forwarded-For": an_address()},
        )
    assert squatter.status_code == 201
    assert victim.status_code == 201, victim.text


def test_a_revoked_admin_key_gets_401_on_a_replay(server: LiveServer) -> None:
    keys = server.container.admin_keys
    key_id, admin_key = keys.create("soon revoked")
    catalog = {
        "regions": [{"id": f"idem-{uuid.uuid4().hex[:6]}", "currency": "eur", "tax_rate_bp": 0}]
    }
    headers = {"Authorization": f"Bearer {admin_key}", "Idempotency-Key": "catalog-1"}
    with client_of(server) as client:
        first = client.post("/admin/catalog", json=catalog, headers=headers)
        keys.revoke(key_id)
        replay = client.post("/admin/catalog", json=catalog, headers=headers)
    assert first.status_code == 200
    assert replay.status_code == 401 and replay.json()["error"] == "NotAuthenticated"


def test_the_scope_is_the_admin_key_not_the_header_text(server: LiveServer) -> None:
    catalog = {
        "regions": [{"id": f"idem-{uuid.uuid4().hex[:6]}", "currency": "eur", "tax_rate_bp": 0}]
    }
    key = f"catalog-{uuid.uuid4().hex[:6]}"
    with client_of(server) as client:
        first = client.post(
            "/admin/catalog",
            json=catalog,
            headers={"Authorization": f"Bearer {server.admin_key}", "Idempotency-Key": key},
        )
        again = client.post(
            "/admin/catalog",
            json=catalog,
            headers={"Authorization": f"bearer  {server.admin_key}", "Idempotency-Key": key},
        )
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"


def test_answers_older_than_a_day_are_purged_when_keys_are_claimed(
    server: LiveServer, shop: Shop
) -> None:
    stale, fresh = f"stale-{uuid.uuid4().hex}", f"fresh-{uuid.uuid4().hex}"
    with psycopg.connect(conninfo(server.container.database_url), autocommit=True) as conn:
        for scope, age in ((stale, "25 hours"), (fresh, "23 hours")):
            conn.execute(
                f"INSERT INTO {SCHEMA}.idempotency_keys "
                "(scope, key, fingerprint, status, created_at) "
                "VALUES (%s, 'k', 'f', 'done', now() - %s::interval)",
                (scope, age),
            )
    with client_of(server) as client:
        answer = client.post(
            "/store/carts", json=a_new_cart(shop), headers={"Idempotency-Key": uuid.uuid4().hex}
        )
    assert answer.status_code == 201
    scopes = {row[0] for row in rows(server)}
    assert stale not in scopes and fresh in scopes


def test_stored_answers_hold_no_client_secret_or_order_token_in_clear(
    server: LiveServer, shop: Shop
) -> None:
    with client_of(server) as client:
        cart = cart_with(client, shop, 1)
        session_headers = {"Idempotency-Key": f"session-{uuid.uuid4().hex[:8]}"}
        session = client.post(f"/store/carts/{cart['id']}/payment-session", headers=session_headers)
        assert session.status_code == 200, session.text
        assert (
            authorize_at_stripe(server, session.json()["payment_intent_id"]) == "requires_capture"
        )
        complete_headers = {"Idempotency-Key": f"complete-{uuid.uuid4().hex[:8]}"}
        done = client.post(f"/store/carts/{cart['id']}/complete", headers=complete_headers)
        assert done.status_code == 200, done.text
        # The storefront that lost its answer asks again with its key: the same answer.
        session_again = client.post(
            f"/store/carts/{cart['id']}/payment-session", headers=session_headers
        )
        done_again = client.post(f"/store/carts/{cart['id']}/complete", headers=complete_headers)
    secret, token = session.json()["client_secret"], done.json()["access_token"]
    assert secret and token
    assert session_again.json() == session.json() and done_again.json() == done.json()
    stored = b"".join(bytes(row[2] or b"") for row in rows(server))
    for leak in (secret, token, session_headers["Idempotency-Key"]):
        assert leak.encode() not in stored
    keys = {row[1] for row in rows(server)}
    assert complete_headers["Idempotency-Key"] not in keys
