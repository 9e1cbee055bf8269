"""The read side over HTTP: views follow the log, and a client reads its own writes."""

from __future__ import annotations

import json

from tests.e2e.checkout_flow import STOREFRONT_ORDER_FIELDS, authorized_cart
from tests.e2e.conftest import LiveServer


def _place(live_server: LiveServer, shop, quantity: int = 2):
    with live_server.client() as client:
        cart, intent_id = authorized_cart(live_server, client, shop, quantity)
        done = client.post(f"/store/carts/{cart['id']}/complete")
        assert done.status_code == 200, done.text
    return cart, intent_id, done


def test_the_storefront_reads_its_order_by_payment_intent_without_personal_data(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    cart, intent_id, done = _place(live_server, shop)
    position = done.headers["X-Ledger-Position"]
    with live_server.client() as client:
        answer = client.get(f"/store/orders/by-payment-intent/{intent_id}?min_position={position}")
    assert answer.status_code == 200, answer.text
    summary = answer.json()
    assert set(summary) == STOREFRONT_ORDER_FIELDS
    assert summary["order_id"] == done.json()["order_id"]
    assert summary["status"] == "placed" and summary["payment_status"] == "authorized"
    assert summary["total"] == cart["total"]
    text = json.dumps(summary)
    for secret in ("ada@example.com", done.json()["access_token"], "secret", "email", "address"):
        assert secret not in text


def test_an_unknown_payment_intent_is_404_until_the_order_exists(live_server: LiveServer) -> None:
    with live_server.client() as client:
        answer = client.get("/store/orders/by-payment-intent/pi_unknown")
    assert answer.status_code == 404
    assert answer.json()["error"] == "NotFound"


def test_the_admin_sees_detail_transactions_and_inventory(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=5)
    cart, intent_id, done = _place(live_server, shop, quantity=2)
    order_id, position = done.json()["order_id"], done.headers["X-Ledger-Position"]
    with live_server.admin() as admin:
        detail = admin.get(f"/admin/orders/{order_id}?min_position={position}").json()
        transactions = admin.get(
            f"/admin/orders/{order_id}/transactions?min_position={position}"
        ).json()
        levels = admin.get(
            f"/admin/inventory-levels?variant_id={shop.variant}&min_position={position}"
        ).json()
        listing = admin.get("/admin/orders?status=placed&limit=200").json()
        projections = admin.get("/admin/projections").json()
    assert detail["email"] == "ada@example.com"
    assert detail["payment"]["authorized"] == cart["total"]
    assert detail["payment"]["payment_intent_id"] == intent_id
    assert transactions == [
        {
            "kind": "authorization",
            "amount": cart["total"],
            "currency": "eur",
            "reference": intent_id,
            "created_at": transactions[0]["created_at"],
        }
    ]
    berlin = next(level for level in levels if level["location_id"] == shop.berlin)
    assert (
        berlin["stocked_quantity"],
        berlin["reserved_quantity"],
        berlin["available_quantity"],
    ) == (5, 2, 3)
    assert order_id in [order["order_id"] for order in listing["data"]]
    assert {p["name"] for p in projections} >= {
        "storefront_orders",
        "admin_orders",
        "inventory_levels",
    }


def test_storefront_availability_never_shows_below_zero_while_admin_shows_the_backorder(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=1, backorder=True)
    _, _, done = _place(live_server, shop, quantity=3)
    position = done.headers["X-Ledger-Position"]
    with live_server.client() as client:
        product = client.get(
            f"/store/products/tee-{shop.suffix}?sales_channel_id={shop.channel}&min_position={position}"
        ).json()
    assert product["variants"][0]["available_quantity"] == 0
    with live_server.admin() as admin:
        levels = admin.get(f"/admin/inventory-levels?variant_id={shop.variant}").json()
    berlin = next(level for level in levels if level["location_id"] == shop.berlin)
    assert berlin["available_quantity"] == -2


def test_admin_reads_need_an_admin_key(live_server: LiveServer) -> None:
    with live_server.client() as client:
        assert client.get("/admin/orders").status_code == 401
        assert (
            client.get("/admin/projections", headers={"Authorization": "Bearer nope"}).status_code
            == 401
        )


def test_the_admin_counts_adjusts_and_allows_backorders_on_a_level(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=5)
    with live_server.admin() as admin:
        counted = admin.post(
            "/admin/inventory-levels",
            json={"variant_id": shop.variant, "location_id": shop.berlin, "stocked_quantity": 8},
        )
        assert counted.status_code == 200, counted.text
        adjusted = admin.post(
            "/admin/inventory-levels",
            json={"variant_id": shop.variant, "location_id": shop.berlin, "adjustment": -3},
        )
        assert adjusted.json()["stocked_quantity"] == 5
        below_zero = admin.post(
            "/admin/inventory-levels",
            json={"variant_id": shop.variant, "location_id": shop.berlin, "adjustment": -6},
        )
        assert below_zero.status_code == 400
        assert below_zero.json()["error"] == "InvalidQuantity"
        unknown = admin.post(
            "/admin/inventory-levels",
            json={"variant_id": "nope", "location_id": shop.berlin, "stocked_quantity": 1},
        )
        assert unknown.status_code == 400
        nothing = admin.post(
            "/admin/inventory-levels", json={"variant_id": shop.variant, "location_id": shop.berlin}
        )
        assert nothing.status_code == 400
        policy = admin.post(
            "/admin/inventory-levels",
            json={"variant_id": shop.variant, "location_id": shop.paris, "allow_backorder": True},
        )
        assert policy.json()["allow_backorder"] is True
        position = policy.headers["X-Ledger-Position"]
        levels = admin.get(
            f"/admin/inventory-levels?variant_id={shop.variant}&min_position={position}"
        ).json()
    berlin = next(level for level in levels if level["location_id"] == shop.berlin)
    assert berlin["stocked_quantity"] == 5
