"""Finding 4 and #17.6: the client is who the deployment says it is, and limits hold.

Forwarded headers count only from a peer in TRUSTED_PROXIES. Here the trusted proxy is
127.0.0.1; an untrusted peer speaks from 127.0.0.2. ``orderledger serve`` itself is
started once to show that, by default, loopback is not trusted either.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.stripe_emulator import free_port
from infra.web.client_identity import Caller, TrustedProxies, address_key, client_address
from infra.web.limits import resource_key
from infra.web.observability import request_log
from tests.e2e.conftest import LiveServer
from tests.processes import orderledger_processes
from tests.security.edge_server import a_cart_body, an_address, client_of, edge_server

CARTS = 3  # carts per client and minute on these servers


@pytest.fixture(scope="module")
def behind_proxy(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    with edge_server(
        database_url,
        redis_url,
        trusted_proxies=["127.0.0.1/32"],
        rate_limit_carts_per_minute=CARTS,
    ) as live:
        yield live


def statuses(client: httpx.Client, n: int, forwarded_for: str | None = None) -> list[int]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return [
        client.post("/store/carts", json=a_cart_body(), headers=headers).status_code
        for _ in range(n)
    ]


def test_two_clients_behind_one_trusted_proxy_have_separate_allowances(
    behind_proxy: LiveServer,
) -> None:
    first, second = an_address(), an_address()
    with client_of(behind_proxy) as proxy:
        # Twice the allowance and one: at least one minute's window overflows.
        exhausted = statuses(proxy, 2 * CARTS + 1, forwarded_for=first)
        other = statuses(proxy, 1, forwarded_for=f"{second}, 127.0.0.1")
    assert 429 in exhausted
    assert other != [429]


def test_a_forged_forwarded_for_from_an_untrusted_peer_changes_nothing(
    behind_proxy: LiveServer,
) -> None:
    with client_of(behind_proxy, peer="127.0.0.2") as untrusted:
        answers = [
            untrusted.post(
                "/store/carts", json=a_cart_body(), headers={"X-Forwarded-For": an_address()}
            ).status_code
            for _ in range(2 * CARTS + 1)
        ]
    assert 429 in answers


def test_the_request_log_shows_the_real_client(behind_proxy: LiveServer) -> None:
    clients: list[str] = []
    both_logged = threading.Event()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            fields = getattr(record, "fields", {})
            if fields.get("route") == "/health":
                clients.append(fields.get("client", "<not logged>"))
                if len(clients) == 2:
                    both_logged.set()

    handler = Collect()
    request_log.addHandler(handler)
    level = request_log.level
    request_log.setLevel(logging.INFO)
    shopper = an_address()
    try:
        with client_of(behind_proxy) as proxy:
            proxy.get("/health", headers={"X-Forwarded-For": f"{shopper}, 127.0.0.1"})
        with client_of(behind_proxy, peer="127.0.0.2") as untrusted:
            untrusted.get("/health", headers={"X-Forwarded-For": "192.0.2.66"})
        # The line is written once the answer is sent: wait for it, bounded.
        assert both_logged.wait(timeout=10)
    finally:
        request_log.removeHandler(handler)
        request_log.setLevel(level)
    assert sorted(clients) == sorted([shopper, "127.0.0.2"])


def test_every_public_write_naming_a_cart_or_order_is_limited_per_cart(
    database_url: str, redis_url: str
) -> None:
    cart, order = "8d9f5a52-0f7c-4c0e-9a53-1b2a3c4d5e6f", "5f0e3c9a-9a53-4c0e-8d9f-6e5d4c3b2a1f"
    writes = [
        f"/store/carts/{cart}/line-items",
        f"/store/carts/{cart}/line-items/line_1",
        f"/store/carts/{cart}/shipping-method",
        f"/store/carts/{cart}/payment-session",
        f"/store/carts/{cart}/complete",
    ]
    with (
        edge_server(
            database_url, redis_url, trusted_proxies=["127.0.0.1"], rate_limit_per_cart_per_minute=4
        ) as live,
        client_of(live) as proxy,
    ):
        # Each write from another client: only the cart's own allowance can refuse them.
        on_cart = [
            proxy.post(path, json={}, headers={"X-Forwarded-For": an_address()}).status_code
            for path in writes * 2
        ]
        on_order = [
            proxy.post(
                f"/store/orders/{order}/line-items",
                json={},
                headers={"X-Forwarded-For": an_address(), "X-Order-Token": "x"},
            ).status_code
            for _ in range(9)
        ]
    assert 429 in on_cart and 429 in on_order


@pytest.mark.parametrize(
    ("path", "setting"),
    [
        ("/store/carts/8d9f5a52-0f7c-4c0e-9a53-1b2a3c4d5e6f/line-items", "writes"),
        ("/store/carts/8d9f5a52-0f7c-4c0e-9a53-1b2a3c4d5e6f/complete", "checkout"),
        ("/store/products/tee/reviews", "reviews"),
        ("/store/orders/5f0e3c9a-9a53-4c0e-8d9f-6e5d4c3b2a1f/line-items", "writes"),
    ],
)
def test_every_public_write_is_limited_per_client(
    database_url: str, redis_url: str, path: str, setting: str
) -> None:
    limit: dict[str, Any] = {f"rate_limit_{setting}_per_minute": 2}
    with (
        edge_server(database_url, redis_url, **limit) as live,
        client_of(live, peer="127.0.0.3") as client,
    ):
        answers = [client.post(path, json={}).status_code for _ in range(5)]
    assert 429 in answers


def test_a_storefront_recognised_by_its_credential_has_its_own_larger_allowance(
    database_url: str, redis_url: str
) -> None:
    async def publishable_key(scope: dict[str, object]) -> Caller | None:
        headers = dict(scope["headers"])  # type: ignore[call-overload]
        if headers.get(b"x-publishable-api-key") == b"pk_storefront":
            return Caller("storefront:pk_storefront", kind="storefront")
        return None

    with edge_server(
        database_url, redis_url, rate_limit_carts_per_minute=2, rate_limit_storefront_factor=3
    ) as live:
        # What #16's publishable keys will do: a verified credential names the caller.
        live.app.state.identities.recognise(publishable_key)
        with client_of(live, peer="127.0.0.4") as storefront:
            keyed = [
                storefront.post(
                    "/store/carts",
                    json=a_cart_body(),
                    headers={"X-Publishable-Api-Key": "pk_storefront"},
                ).status_code
                for _ in range(6)
            ]
            anonymous = statuses(storefront, 5)
    # 2 × 3 a minute for the storefront (at most one window boundary in between).
    assert keyed.count(429) <= 1 and 429 in anonymous


def test_rotating_forwarded_for_from_loopback_does_not_walk_past_orderledger_serve(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "RATE_LIMIT_CARTS_PER_MINUTE": "2",
    }
    # No Redis: the process counts on its own, untouched by the other servers' counts.
    for unset in ("TRUSTED_PROXIES", "REDIS_URL"):
        env.pop(unset, None)
    base = f"http://127.0.0.1:{port}"
    with (
        orderledger_processes(
            [["serve", "--port", str(port)]], env, tmp_path, ready_url=f"{base}/health"
        ),
        httpx.Client(base_url=base, timeout=10) as client,
    ):
        answers = [
            client.post(
                "/store/carts", json=a_cart_body(), headers={"X-Forwarded-For": an_address()}
            ).status_code
            for _ in range(5)
        ]
    assert 429 in answers
    output = (tmp_path / "serve.log").read_text().splitlines()
    logged = [json.loads(line) for line in output if '"method": "POST"' in line]
    assert logged and {entry["client"] for entry in logged} == {"127.0.0.1"}


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("10.0.0.5", "198.51.100.1", [], "10.0.0.5"),
        ("127.0.0.1", "198.51.100.1", [], "127.0.0.1"),
        ("10.0.0.5", "198.51.100.1", ["10.0.0.0/8"], "198.51.100.1"),
        ("10.0.0.5", "6.6.6.6, 198.51.100.1, 10.0.0.9", ["10.0.0.0/8"], "198.51.100.1"),
        ("10.0.0.5", "not-an-ip", ["10.0.0.0/8"], "10.0.0.5"),
        ("10.0.0.5", "[2001:db8::1]:443", ["10.0.0.0/8"], "2001:db8::1"),
        ("::1", "198.51.100.1", ["::1"], "198.51.100.1"),
    ],
)
def test_the_client_is_the_rightmost_address_no_trusted_proxy_wrote(
    peer: str, forwarded: str, trusted: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, TrustedProxies(trusted)) == client


def spellings(cart: str, n: int) -> list[str]:
    """``n`` spellings of one uuid, differing in the case of its letters."""
    letters = [i for i, ch in enumerate(cart) if ch.isalpha()]
    return [
        "".join(
            ch.upper() if i in letters and (k >> letters.index(i)) & 1 else ch
            for i, ch in enumerate(cart)
        )
        for k in range(n)
    ]


def test_spelling_a_cart_id_otherwise_does_not_multiply_its_allowance(
    database_url: str, redis_url: str
) -> None:
    cart = "0a1b2c3d-4e5f-4a6b-8c7d-9e8f7a6b5c4d"
    with (
        edge_server(
            database_url, redis_url, trusted_proxies=["127.0.0.1"], rate_limit_per_cart_per_minute=4
        ) as live,
        client_of(live) as proxy,
    ):
        answers = [
            proxy.post(
                f"/store/carts/{spelled}/line-items",
                json={},
                headers={"X-Forwarded-For": an_address()},
            ).status_code
            for spelled in spellings(cart, 9)
        ]
    assert 429 in answers


def test_one_ipv6_subscriber_is_one_client_and_ids_have_one_spelling() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:198.51.100.7") == address_key("198.51.100.7") == "198.51.100.7"
    assert resource_key("0A1B2C3D-4E5F-4A6B-8C7D-9E8F7A6B5C4D") == resource_key(
        "0a1b2c3d4e5f4a6b8c7d9e8f7a6b5c4d"
    )
