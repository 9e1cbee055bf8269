"""Finding 13 (order side): complete hands the order's token out once, and tokens expire."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import (
    LiveServer,
    Shop,
    open_shop,
    payment_intent_event,
    post_webhook,
    signed_event,
)
from tests.security.edge_server import client_of, edge_server


@dataclass
class MovableClock:
    """The server's clock, injected: the wall clock plus ``ahead``."""

    ahead: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


CLOCK = MovableClock()


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with edge_server(database_url, redis_url, stripe_emulator.url, clock=CLOCK) as live:
        yield live


@pytest.fixture(scope="module")
def shop(server: LiveServer) -> Shop:
    return open_shop(server)


def test_a_second_complete_by_someone_who_knows_the_cart_id_gets_no_token(
    server: LiveServer, shop: Shop
) -> None:
    key = {"Idempotency-Key": f"complete-{uuid.uuid4().hex[:8]}"}
    with client_of(server) as storefront:
        cart, _ = authorized_cart(server, storefront, shop, 1)
        first = storefront.post(f"/store/carts/{cart['id']}/complete", headers=key)
        lost_answer_retried = storefront.post(f"/store/carts/{cart['id']}/complete", headers=key)
    with client_of(server, peer="127.0.0.9") as stranger:
        theirs = stranger.post(f"/store/carts/{cart['id']}/complete")
        with_a_key = stranger.post(
            f"/store/carts/{cart['id']}/complete", headers={"Idempotency-Key": "x"}
        )
    assert first.status_code == 200 and first.json()["access_token"]
    assert lost_answer_retried.json() == first.json()
    for answer in (theirs, with_a_key):
        assert answer.status_code == 200
        assert answer.json() == {**first.json(), "access_token": None}


def test_when_the_webhook_placed_the_order_the_first_complete_still_gets_the_token(
    server: LiveServer, shop: Shop
) -> None:
    with client_of(server) as storefront:
        cart, intent_id = authorized_cart(server, storefront, shop, 1)
        body, signature = signed_event(
            payment_intent_event(server, "payment_intent.amount_capturable_updated", intent_id)
        )
        hook = post_webhook(storefront, body, signature)
        assert hook.status_code == 200, hook.text
        first = storefront.post(f"/store/carts/{cart['id']}/complete")
        second = storefront.post(f"/store/carts/{cart['id']}/complete")
    assert first.json()["access_token"]
    assert second.json()["access_token"] is None


def verified_review(order: dict[str, Any], shop: Shop) -> dict[str, Any]:
    return {
        "rating": 5,
        "author_name": "Ada",
        "order_id": order["order_id"],
        "title": f"t-{uuid.uuid4().hex[:6]}",
    }


def test_an_order_token_expires_after_order_token_days(server: LiveServer, shop: Shop) -> None:
    with client_of(server) as storefront:
        cart, _ = authorized_cart(server, storefront, shop, 1)
        order = storefront.post(f"/store/carts/{cart['id']}/complete").json()
        token = {"X-Order-Token": order["access_token"]}
        product = f"tee-{shop.suffix}"
        # The server's clock past ORDER_TOKEN_DAYS (90 by default).
        CLOCK.ahead = timedelta(days=90, minutes=1)
        try:
            expired = storefront.post(
                f"/store/products/{product}/reviews",
                json=verified_review(order, shop),
                headers=token,
            )
        finally:
            CLOCK.ahead = timedelta(0)
        fresh = storefront.post(
            f"/store/products/{product}/reviews", json=verified_review(order, shop), headers=token
        )
    assert expired.status_code == 404 and expired.json()["error"] == "OrderNotFound"
    assert fresh.status_code == 201, fresh.text  # the token still opens its order
