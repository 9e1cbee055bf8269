"""Finding 11: webhooks about PaymentIntents the shop did not start.

On main a PaymentIntent of another integration on the same Stripe account naming an
unknown cart got 404 on every redelivery (until Stripe disables the endpoint); one
naming a real cart placed an order if its amount fitted, and was canceled by the ledger
when it did not; a signed body nested 100,000 deep answered 500.
"""

from __future__ import annotations

import time
import uuid

import pytest
import stripe

from domain.ids import order_id_for
from domain.order import Order
from tests.e2e.checkout_flow import first_line, intent_of_session
from tests.e2e.conftest import (
    WEBHOOK_SECRET,
    authorize_at_stripe,
    payment_intent_event,
    post_webhook,
    signed_event,
)
from tests.security.domain_shop import Probe, cart_of, choose_shipping, open_store, shipped_lamp

pytestmark = pytest.mark.e2e

AUTHORIZED = "payment_intent.amount_capturable_updated"
CANCELED = "payment_intent.canceled"


def foreign_intent(probe: Probe, amount: int, metadata: dict[str, str]) -> str:
    """A PaymentIntent another integration made on the shop's Stripe account, authorized."""
    intent = probe.server.stripe().v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "capture_method": "manual",
            "metadata": metadata,
        }
    )
    assert authorize_at_stripe(probe.server, intent.id) == "requires_capture"
    return str(intent.id)


def deliver(probe: Probe, event_type: str, intent_id: str) -> dict[str, str]:
    body, signature = signed_event(payment_intent_event(probe.server, event_type, intent_id))
    with probe.server.client() as client:
        answer = post_webhook(client, body, signature)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def status_at_stripe(probe: Probe, intent_id: str) -> str:
    return str(probe.server.stripe().v1.payment_intents.retrieve(intent_id).status)


@pytest.mark.parametrize(
    "metadata",
    [{"cart_id": str(uuid.uuid4())}, {"cart_id": "order-123"}, {}],
    ids=["unknown-cart", "not-a-uuid", "no-metadata"],
)
def test_another_integrations_intent_is_acknowledged_as_not_ours(
    probe: Probe, metadata: dict[str, str]
) -> None:
    intent_id = foreign_intent(probe, 1000, metadata)
    outcome = deliver(probe, AUTHORIZED, intent_id)
    assert outcome["outcome"] == "not-ours"
    assert status_at_stripe(probe, intent_id) == "requires_capture"  # left alone
    assert probe.server.container.ledger.get_or_none(order_id_for(intent_id), Order) is None


def test_an_intent_naming_our_cart_that_the_cart_never_started_places_nothing(
    probe: Probe,
) -> None:
    server = probe.server
    store = open_store(server)
    with server.client() as client:
        cart_id = cart_of(client, store, store.lamp)
        cart = choose_shipping(client, cart_id, store)
        # The cart's own session exists, but a different intent names the cart
        client.post(f"/store/carts/{cart_id}/payment-session")
    fitting = foreign_intent(probe, cart["total"], {"cart_id": cart_id})
    outcome = deliver(probe, AUTHORIZED, fitting)
    assert outcome["outcome"] == "not-ours"
    assert server.container.ledger.get_or_none(order_id_for(fitting), Order) is None
    assert status_at_stripe(probe, fitting) == "requires_capture"  # never canceled by us


def test_an_intent_naming_our_completed_cart_with_another_amount_is_not_canceled(
    probe: Probe,
) -> None:
    server = probe.server
    store = open_store(server)
    with server.client() as client:
        cart_id = shipped_lamp(client, store)
        ours = intent_of_session(client, cart_id)
        assert authorize_at_stripe(server, ours) == "requires_capture"
        assert client.post(f"/store/carts/{cart_id}/complete").status_code == 200
    other = foreign_intent(probe, 777, {"cart_id": cart_id})
    assert deliver(probe, AUTHORIZED, other)["outcome"] == "not-ours"
    assert deliver(probe, CANCELED, other)["outcome"] in ("not-canceled", "voided")
    assert status_at_stripe(probe, other) == "requires_capture"
    assert status_at_stripe(probe, ours) == "requires_capture"  # our order's hold stands


def test_our_own_superseded_intent_is_refused_and_its_hold_released(probe: Probe) -> None:
    server = probe.server
    store = open_store(server)
    with server.client() as client:
        cart_id = shipped_lamp(client, store)
        first = intent_of_session(client, cart_id)
        assert authorize_at_stripe(server, first) == "requires_capture"
        line_id = first_line(client, cart_id)
        client.post(f"/store/carts/{cart_id}/line-items/{line_id}", json={"quantity": 2})
        # The new session finds the old hold for the wrong amount: released, a new intent
        second = client.post(f"/store/carts/{cart_id}/payment-session").json()
    assert second["payment_intent_id"] != first
    assert status_at_stripe(probe, first) == "canceled"
    assert deliver(probe, AUTHORIZED, first)["outcome"] in ("canceled", "refused")
    assert server.container.ledger.get_or_none(order_id_for(first), Order) is None


def test_a_signed_body_nested_a_hundred_thousand_deep_is_a_400(probe: Probe) -> None:
    depth = 100_000
    body = '{"id": "evt_deep", "type": "x", "data": ' + "[" * depth + "]" * depth + "}"
    signature = stripe.WebhookSignature.generate_signature_header(
        body, WEBHOOK_SECRET, timestamp=int(time.time())
    )
    with probe.server.client() as client:
        answer = post_webhook(client, body.encode(), signature)
        alive = client.get("/health")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidWebhook"
    assert alive.status_code == 200


@pytest.mark.parametrize("data", ["text", [], {"object": ["a"]}, None])
def test_a_signed_event_whose_data_is_not_an_object_is_acknowledged_and_ignored(
    probe: Probe, data: object
) -> None:
    event = {"id": f"evt_{uuid.uuid4().hex}", "type": AUTHORIZED, "data": data}
    body, signature = signed_event(event)
    with probe.server.client() as client:
        answer = post_webhook(client, body, signature)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "ignored"
