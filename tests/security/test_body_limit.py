"""Finding 12: a body over the limit is a 413, however it is sent, never cut and processed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import LiveServer, Shop, open_shop
from tests.security.edge_server import edge_server

MIB = 1 << 20


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    with edge_server(database_url, redis_url) as live:
        yield live


@pytest.fixture(scope="module")
def shop(server: LiveServer) -> Shop:
    return open_shop(server)


def chunked(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """httpx sends an iterator with Transfer-Encoding: chunked (no Content-Length)."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def padded_cart(shop: Shop, megabytes: int) -> bytes:
    # Valid JSON up to its first MiB: a server that cut it there would take it.
    start = (
        f'{{"region_id": "{shop.region}", "sales_channel_id": "{shop.channel}", '
        '"email": "ada@example.com"}'
    ).encode()
    return start + b" " * (megabytes * MIB)


@pytest.mark.parametrize("idempotency_key", [True, False])
def test_a_chunked_body_over_the_limit_is_413(
    server: LiveServer, shop: Shop, idempotency_key: bool
) -> None:
    headers = {"Content-Type": "application/json"}
    if idempotency_key:
        headers["Idempotency-Key"] = uuid.uuid4().hex
    with httpx.Client(base_url=server.url, timeout=30) as client:
        carts_before = server.container.ledger.head
        answer = client.post("/store/carts", content=chunked(padded_cart(shop, 3)), headers=headers)
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "PayloadTooLarge"
    assert server.container.ledger.head == carts_before


def test_a_declared_length_over_the_limit_is_413(server: LiveServer, shop: Shop) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post(
            "/store/carts",
            content=padded_cart(shop, 2),
            headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
        )
    assert answer.status_code == 413


def test_a_chunked_catalog_over_its_own_limit_is_413_for_an_admin(server: LiveServer) -> None:
    body = b'{"regions": []}' + b" " * (17 * MIB)
    with server.admin() as admin:
        answer = admin.post(
            "/admin/catalog",
            content=chunked(body, 256 * 1024),
            headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
        )
    assert answer.status_code == 413


def test_a_body_under_the_limit_still_works_chunked(server: LiveServer, shop: Shop) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.post(
            "/store/carts",
            content=chunked(padded_cart(shop, 0) + b" " * 1000, 100),
            headers={"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex},
        )
    assert answer.status_code == 201, answer.text
