"""#17.6 with #16: a storefront recognised by its publishable key gets its own, larger
allowance (per key and address: the key is public, so it never buys one shop-wide bucket
an abuser could drain, nor an unlimited one), and the Medusa surface's writes are
limited like the native ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from infra.web.limits import limited
from tests.e2e.conftest import LiveServer
from tests.security.edge_server import a_cart_body, an_address, client_of, edge_server

CARTS = 3  # per client and minute
FACTOR = 5  # a storefront gets five times that
TRIES = 2 * CARTS + 1  # over two fixed windows at most, one of them overflows a bucket of 3


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    with edge_server(
        database_url,
        redis_url,
        trusted_proxies=["127.0.0.1/32"],
        rate_limit_carts_per_minute=CARTS,
        rate_limit_storefront_factor=FACTOR,
        rate_limit_per_cart_per_minute=CARTS,
    ) as live:
        yield live


def medusa_carts(server: LiveServer, address: str, key: str | None, n: int) -> list[int]:
    headers = {"X-Forwarded-For": address}
    if key is not None:
        headers["x-publishable-api-key"] = key
    with client_of(server) as client:
        return [
            client.post(
                "/medusa/store/carts", json={"region_id": "no-such-region"}, headers=headers
            ).status_code
            for _ in range(n)
        ]


def test_a_publishable_key_earns_its_storefront_its_own_larger_allowance(
    server: LiveServer,
) -> None:
    address = an_address()
    _, key = server.container.publishable_keys.create("storefront", ["web"])
    with client_of(server) as client:
        anonymous = [
            client.post(
                "/store/carts", json=a_cart_body(), headers={"X-Forwarded-For": address}
            ).status_code
            for _ in range(TRIES)
        ]
    assert 429 in anonymous  # this address has used up its own allowance

    with_key = medusa_carts(server, address, key, TRIES)

    assert 429 not in with_key  # the storefront is counted apart, with CARTS * FACTOR
    assert set(with_key) == {404}  # ...and then refused for the unknown region


def test_a_made_up_or_revoked_key_earns_nothing(server: LiveServer) -> None:
    key_id, key = server.container.publishable_keys.create("revoked", ["web"])
    assert server.container.publishable_keys.revoke(key_id)

    made_up = medusa_carts(server, an_address(), "pk_nope_" + uuid.uuid4().hex, TRIES)
    revoked = medusa_carts(server, an_address(), key, TRIES)

    assert 429 in made_up and 429 in revoked  # counted by address, as anyone


def test_the_medusa_surfaces_writes_are_limited_per_cart(server: LiveServer) -> None:
    _, key = server.container.publishable_keys.create("writes", ["web"])
    cart = str(uuid.uuid4())
    with client_of(server) as client:
        answers = [
            client.post(
                f"/medusa/store/carts/{cart}",
                json={"email": "ada@example.com"},
                headers={"x-publishable-api-key": key, "X-Forwarded-For": an_address()},
            ).status_code
            for _ in range(TRIES)
        ]
    assert 429 in answers  # every write naming one cart counts together, whoever sends it


@pytest.mark.parametrize(
    ("method", "path", "allowance", "resource"),
    [
        ("POST", "/medusa/store/carts", "carts", None),
        ("POST", "/medusa/store/carts/ABC/complete", "checkout", "abc"),
        ("POST", "/medusa/store/carts/abc", "writes", "abc"),
        ("DELETE", "/medusa/store/carts/abc/line-items/l1", "writes", "abc"),
        ("POST", "/medusa/store/payment-collections", "checkout", None),
        ("POST", "/medusa/store/payment-collections/pc1/payment-sessions", "checkout", "pc1"),
    ],
)
def test_medusa_paths_fall_under_the_native_limits(
    method: str, path: str, allowance: str, resource: str | None
) -> None:
    found = limited(method, path, ("/medusa",))
    assert found is not None
    rule, named = found
    assert (rule.allowance, named) == (allowance, resource)
    assert limited(method, path) is None  # without the surface's prefix: not a store write
