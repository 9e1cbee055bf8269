"""Finding 5: an order of goods that are shipped cannot be paid without a shipping method.

On main a lamp with an address and no shipping method was paid and placed with
``shipping_total`` 0. The catalog now says which products need no shipping (an optional
``requires_shipping: false``, for digital goods); existing catalogs import unchanged.
"""

from __future__ import annotations

import pytest

from domain.ids import order_id_for
from domain.order import Order
from tests.e2e.checkout_flow import first_line, intent_of_session
from tests.e2e.conftest import (
    authorize_at_stripe,
    open_shop,
)
from tests.security.domain_shop import Probe, cart_of, choose_shipping, open_store

pytestmark = pytest.mark.e2e

ADDRESS = {"name": "Ada", "line1": "Damrak 1", "city": "Amsterdam", "country": "NL"}


def test_a_lamp_without_a_shipping_method_gets_no_payment_session(probe: Probe) -> None:
    server = probe.server
    store = open_store(server)
    with server.client() as client:
        cart_id = cart_of(client, store, store.lamp, address=ADDRESS)
        probe.stripe.calls.clear()
        refused = client.post(f"/store/carts/{cart_id}/payment-session")
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "ShippingMethodRequired"
        assert probe.stripe.calls == []  # no PaymentIntent was made
        complete = client.post(f"/store/carts/{cart_id}/complete")
        assert complete.status_code == 409
        choose_shipping(client, cart_id, store)
        session = client.post(f"/store/carts/{cart_id}/payment-session")
        assert session.status_code == 200, session.text


def test_digital_goods_alone_need_no_shipping_method(probe: Probe) -> None:
    server = probe.server
    store = open_store(server, digital_ebook=True)
    with server.client() as client:
        cart_id = cart_of(client, store, store.ebook)
        session = client.post(f"/store/carts/{cart_id}/payment-session")
        assert session.status_code == 200, session.text
        intent_id = session.json()["payment_intent_id"]
        assert authorize_at_stripe(server, intent_id) == "requires_capture"
        done = client.post(f"/store/carts/{cart_id}/complete")
        assert done.status_code == 200, done.text
    order = server.container.ledger.get_or_none(order_id_for(intent_id), Order)
    assert order is not None and order.shipping is None


def test_swapping_the_paid_e_book_for_a_lamp_of_the_same_price_places_no_order(
    probe: Probe,
) -> None:
    server = probe.server
    store = open_store(server, lamp_price=5000, ebook_price=5000, digital_ebook=True)
    with server.client() as client:
        # Given a payment session for an e-book (no shipping needed), authorized
        cart_id = cart_of(client, store, store.ebook)
        intent_id = intent_of_session(client, cart_id)
        assert authorize_at_stripe(server, intent_id) == "requires_capture"
        # When the lines become a lamp at the same total, still without shipping
        ebook_line = first_line(client, cart_id)
        client.post(
            f"/store/carts/{cart_id}/line-items", json={"variant_id": store.lamp, "quantity": 1}
        )
        client.post(f"/store/carts/{cart_id}/line-items/{ebook_line}", json={"quantity": 0})
        # Then completing places nothing and releases the hold
        done = client.post(f"/store/carts/{cart_id}/complete")
        assert done.status_code == 409, done.text
        assert done.json()["error"] == "OrderNotCreated"
        assert "shipping method" in done.json()["detail"]
    assert server.container.ledger.get_or_none(order_id_for(intent_id), Order) is None
    assert server.stripe().v1.payment_intents.retrieve(intent_id).status == "canceled"


def test_a_catalog_without_the_new_field_imports_unchanged_and_ships_everything(
    probe: Probe,
) -> None:
    shop = open_shop(probe.server)  # the e2e catalog: no requires_shipping anywhere
    with probe.server.client() as client:
        created = client.post(
            "/store/carts",
            json={"region_id": shop.region, "sales_channel_id": shop.channel, "email": "a@b.co"},
        ).json()
        client.post(
            f"/store/carts/{created['id']}/line-items",
            json={"variant_id": shop.other_variant, "quantity": 1},
        )
        refused = client.post(f"/store/carts/{created['id']}/payment-session")
    assert refused.status_code == 409 and refused.json()["error"] == "ShippingMethodRequired"
