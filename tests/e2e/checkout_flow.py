"""Storefront steps shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LiveServer, Shop, authorize_at_stripe

# What the storefront is shown of an order (no personal data, no token).
STOREFRONT_ORDER_FIELDS = {
    "order_id",
    "status",
    "payment_status",
    "currency",
    "items",
    "subtotal",
    "shipping_total",
    "tax_total",
    "total",
    "placed_at",
    "editable_until",
}


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


def first_line(client: httpx.Client, cart_id: str) -> str:
    """The id of the cart's first line item."""
    return str(client.get(f"/store/carts/{cart_id}").json()["items"][0]["id"])


def intent_of_session(client: httpx.Client, cart_id: str) -> str:
    """Ask for the cart's payment session; the id of its PaymentIntent."""
    return str(client.post(f"/store/carts/{cart_id}/payment-session").json()["payment_intent_id"])
