"""Finding 10: a "verified purchase" review could be laundered.

On main: add a product in the grace period, review it as verified, remove it again (or
cancel the order) — the review stayed verified. A review naming an order is now verified
exactly while that order is captured and still holds the product: the process manager
re-assesses it on every line change, on the cancellation and on the capture of the order.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.checkout_flow import intent_of_session
from tests.e2e.conftest import (
    LiveServer,
    authorize_at_stripe,
)
from tests.e2e.ledger_probe import settled_head
from tests.security.domain_shop import Probe, Store, open_store, shipped_lamp

pytestmark = pytest.mark.e2e


def placed_order(server: LiveServer, client: httpx.Client, store: Store) -> dict[str, Any]:
    cart_id = shipped_lamp(client, store)
    intent_id = intent_of_session(client, cart_id)
    assert authorize_at_stripe(server, intent_id) == "requires_capture"
    done = client.post(f"/store/carts/{cart_id}/complete")
    assert done.status_code == 200, done.text
    return dict(done.json())


def review_of(client: httpx.Client, product_id: str, order: dict[str, Any]) -> httpx.Response:
    return client.post(
        f"/store/products/{product_id}/reviews",
        json={
            "rating": 5,
            "title": "Great",
            "body": "Bought it.",
            "author_name": "Ada",
            "order_id": order["order_id"],
        },
        headers={"X-Order-Token": order["access_token"]},
    )


def add_to_order(client: httpx.Client, order: dict[str, Any], variant: str) -> str:
    """The customer adds one of ``variant`` to the order; returns the new line's id."""
    added = client.post(
        f"/store/orders/{order['order_id']}/line-items",
        json={"variant_id": variant, "quantity": 1},
        headers={"X-Order-Token": order["access_token"]},
    )
    assert added.status_code == 200, added.text
    [line_id] = [i["id"] for i in added.json()["items"] if i["variant_id"] == variant]
    return str(line_id)


def remove_from_order(client: httpx.Client, order: dict[str, Any], line_id: str) -> None:
    """The customer sets the line's quantity to 0."""
    removed = client.post(
        f"/store/orders/{order['order_id']}/line-items/{line_id}",
        json={"quantity": 0},
        headers={"X-Order-Token": order["access_token"]},
    )
    assert removed.status_code == 200, removed.text


def capture(server: LiveServer, order: dict[str, Any]) -> None:
    with server.admin() as admin:
        captured = admin.post(f"/admin/orders/{order['order_id']}/capture")
    assert captured.status_code == 200, captured.text


def verified_now(server: LiveServer, product_id: str) -> list[bool]:
    """Every review of the product as the admin sees it, once the worker caught up."""
    head = settled_head(server)
    with server.admin() as admin:
        answer = admin.get(
            "/admin/reviews",
            params={"product_id": product_id, "status": "pending", "min_position": head},
        )
    assert answer.status_code == 200, answer.text
    return [row["verified"] for row in answer.json()["data"]]


def test_a_product_added_reviewed_and_removed_in_the_grace_period_is_no_longer_verified(
    probe: Probe,
) -> None:
    server = probe.server
    store = open_store(server)
    with server.client() as client:
        # Given an order of a lamp, to which the customer adds an e-book
        order = placed_order(server, client, store)
        ebook_line = add_to_order(client, order, store.ebook)
        # And reviews it, naming the order (not verified yet: the order is in its grace)
        reviewed = review_of(client, store.ebook_product, order)
        assert reviewed.status_code == 201 and reviewed.json()["verified"] is False
        lamp = review_of(client, store.lamp_product, order)
        assert lamp.status_code == 201, lamp.text
        # When the e-book is removed again, and the order is captured
        remove_from_order(client, order, ebook_line)
    capture(server, order)
    # Then the e-book's review never became a verified purchase; the lamp's did
    assert verified_now(server, store.ebook_product) == [False]
    assert verified_now(server, store.lamp_product) == [True]


def test_a_canceled_orders_review_is_no_longer_verified(probe: Probe) -> None:
    server = probe.server
    store = open_store(server)
    with server.client() as client:
        order = placed_order(server, client, store)
        reviewed = review_of(client, store.lamp_product, order)
        assert reviewed.status_code == 201 and reviewed.json()["verified"] is False
    with server.admin() as admin:
        canceled = admin.post(f"/admin/orders/{order['order_id']}/cancel")
        assert canceled.status_code == 200, canceled.text
    assert verified_now(server, store.lamp_product) == [False]
    with server.client() as client:
        again = review_of(client, store.lamp_product, order)
    assert again.status_code == 400 and again.json()["error"] == "NotAPurchase"


def test_a_kept_purchase_stays_verified_through_other_changes(probe: Probe) -> None:
    server = probe.server
    store = open_store(server)
    with server.client() as client:
        order = placed_order(server, client, store)
        assert review_of(client, store.lamp_product, order).json()["verified"] is False
        ebook_line = add_to_order(client, order, store.ebook)
        remove_from_order(client, order, ebook_line)
    capture(server, order)
    assert verified_now(server, store.lamp_product) == [True]
    with server.client() as client:  # the e-book went again: not a purchase to review
        ebook = review_of(client, store.ebook_product, order)
    assert ebook.status_code == 400 and ebook.json()["error"] == "NotAPurchase"


def test_a_review_becomes_verified_only_when_its_order_is_captured(probe: Probe) -> None:
    server = probe.server
    store = open_store(server)
    with server.client() as client:
        order = placed_order(server, client, store)
        review_of(client, store.lamp_product, order)
    assert verified_now(server, store.lamp_product) == [False]
    capture(server, order)
    assert verified_now(server, store.lamp_product) == [True]
