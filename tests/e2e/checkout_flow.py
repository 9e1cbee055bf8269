"""Storefront steps shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LiveServer, Shop, authorize_at_stripe


def cart_with(
    client: httpx.Client, shop: Shop, quantity: int = 2, *, shipping: str | None = None
) -> dict[str, Any]:
    answer = client.post(
        "/store/carts",
        json={
            "region_id": shop.region,
            "sales_channel_id": shop.channel,
            "email": "ada@example.com",
        },
    )
    assert answer.status_code == 201, answer.text
    cart = answer.json()
    answer = client.post(
        f"/store/carts/{cart['id']}/line-items",
        json={"variant_id": shop.variant, "quantity": quantity},
    )
    assert answer.status_code == 200, answer.text
    answer = client.post(
        f"/store/carts/{cart['id']}/shipping-method",
        json={"shipping_option_id": shipping or shop.shipping},
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def authorized_cart(
    server: LiveServer, client: httpx.Client, shop: Shop, quantity: int = 2
) -> tuple[dict[str, Any], str]:
    """A cart whose PaymentIntent is authorized at the emulator; returns (cart, pi id)."""
    cart = cart_with(client, shop, quantity)
    session = client.post(f"/store/carts/{cart['id']}/payment-session")
    assert session.status_code == 200, session.text
    intent_id = session.json()["payment_intent_id"]
    assert authorize_at_stripe(server, intent_id) == "requires_capture"
    return cart, intent_id
