"""Finding 14: nosniff on every answer, a plain X-Request-ID, e-mail addresses that are
addresses, the API docs configurable off, and reserved author names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer, Shop, open_shop
from tests.security.edge_server import edge_server

CART = "8d9f5a52-0f7c-4c0e-9a53-1b2a3c4d5e6f"


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    with edge_server(database_url, redis_url, rate_limit_checkout_per_minute=1) as live:
        yield live


@pytest.fixture(scope="module")
def shop(server: LiveServer) -> Shop:
    return open_shop(server)


def test_every_answer_says_nosniff(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answers = [
            client.get("/health"),
            client.get("/store/carts/not-a-uuid"),
            client.get("/admin/orders"),
            client.post("/store/carts", content=b"x" * (2 << 20)),
            client.post("/store/carts", json={}),
            *[client.post(f"/store/carts/{CART}/complete") for _ in range(3)],  # one is a 429
            client.get("/metrics"),
            client.get("/openapi.json"),
        ]
    statuses = {a.status_code for a in answers}
    assert {200, 401, 413, 429} <= statuses
    assert all(a.headers.get("x-content-type-options") == "nosniff" for a in answers)


@pytest.mark.parametrize(
    "request_id",
    ["<script>alert(1)</script>", 'a"b', "a b", "x" * 65, "é-accent", "id;drop"],
)
def test_an_x_request_id_outside_the_safe_alphabet_is_replaced(
    server: LiveServer, request_id: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.get("/health", headers={b"X-Request-ID": request_id.encode()})
    assert answer.headers["x-request-id"] != request_id
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"])


def test_a_plain_x_request_id_is_kept(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.get("/health", headers={"X-Request-ID": "req-2026.12_01:abc"})
    assert answer.headers["x-request-id"] == "req-2026.12_01:abc"


@pytest.mark.parametrize(
    "email",
    [
        "<ada@example.com>",
        "ada@example.com<script>",
        '"ada"@example.com',
        "Ada <ada@example.com>",
        "ada@exa<b>mple.com",
        "ada..lovelace@example.com",
        "ada@example.com,bo@example.com",
    ],
)
def test_e_mail_addresses_are_validated_as_addresses(
    server: LiveServer, shop: Shop, email: str
) -> None:
    body: dict[str, Any] = {
        "region_id": shop.region,
        "sales_channel_id": shop.channel,
        "email": email,
    }
    with httpx.Client(base_url=server.url, timeout=30) as client:
        head = server.container.ledger.head
        answer = client.post("/store/carts", json=body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidRequestValue"
    assert server.container.ledger.head == head


@pytest.mark.parametrize(
    "author", ["Verified Buyer", "verified-buyer ✓", "VERIFIED PURCHASE", "Admin", "Ada (verified)"]
)
def test_author_names_the_shop_uses_are_reserved(
    server: LiveServer, shop: Shop, author: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post(
            f"/store/products/tee-{shop.suffix}/reviews",
            json={"rating": 5, "author_name": author, "body": "Great."},
        )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidReview"


def test_the_api_docs_can_be_turned_off(database_url: str, redis_url: str) -> None:
    with (
        edge_server(database_url, redis_url, api_docs=False) as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
    ):
        answers = {
            path: client.get(path).status_code for path in ("/docs", "/redoc", "/openapi.json")
        }
        health = client.get("/health")
    assert answers == {"/docs": 404, "/redoc": 404, "/openapi.json": 404}
    assert health.status_code == 200


def test_the_api_docs_are_on_by_default(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
