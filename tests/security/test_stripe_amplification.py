"""Finding 3: anonymous cart changes must not turn into Stripe calls.

On main, 100 line changes on a cart with a payment session made 298 Stripe calls (each
change read the PaymentIntent twice and moved its amount). The cart now keeps its
PaymentIntent's state; the amount moves only when a payment session is asked for or
the cart is completed.
"""

from __future__ import annotations

from uuid import UUID

import pytest

from domain.order import Order
from tests.e2e.checkout_flow import first_line, intent_of_session
from tests.e2e.conftest import authorize_at_stripe
from tests.security.domain_shop import Probe, open_store, shipped_lamp

pytestmark = pytest.mark.e2e

CHANGES = 100


def test_a_hundred_line_changes_after_the_payment_session_make_no_stripe_call(
    probe: Probe,
) -> None:
    server, stripe = probe.server, probe.stripe
    store = open_store(server, lamp_price=1000)
    with server.client() as client:
        # Given a cart with a payment session
        cart_id = shipped_lamp(client, store)
        session = client.post(f"/store/carts/{cart_id}/payment-session")
        assert session.status_code == 200, session.text
        intent_id = session.json()["payment_intent_id"]
        line_id = first_line(client, cart_id)
        stripe.calls.clear()

        # When an anonymous client changes its lines a hundred times
        for i in range(CHANGES):
            changed = client.post(
                f"/store/carts/{cart_id}/line-items/{line_id}", json={"quantity": 1 + i % 7}
            )
            assert changed.status_code == 200, changed.text

        # Then Stripe heard nothing of it
        assert stripe.calls == []
        final = client.post(
            f"/store/carts/{cart_id}/line-items/{line_id}", json={"quantity": 3}
        ).json()
        assert stripe.calls == []

        # And the next payment session moves the amount once, on the same PaymentIntent
        again = client.post(f"/store/carts/{cart_id}/payment-session")
        assert again.status_code == 200, again.text
        assert again.json()["payment_intent_id"] == intent_id
        assert again.json()["amount"] == final["total"]
        assert len(stripe.calls) <= 2, stripe.calls

        # And the checkout charges exactly the final total
        assert authorize_at_stripe(server, intent_id) == "requires_capture"
        stripe.calls.clear()
        done = client.post(f"/store/carts/{cart_id}/complete")
        assert done.status_code == 200, done.text
        assert len(stripe.calls) == 1, stripe.calls  # the one read that decides
    order = server.container.ledger.repository.get(UUID(done.json()["order_id"]))
    assert isinstance(order, Order)
    intent = server.stripe().v1.payment_intents.retrieve(intent_id)
    assert order.total == final["total"] == int(intent.amount)


def test_changes_after_the_payment_session_are_charged_when_completing_without_a_new_session(
    probe: Probe,
) -> None:
    server, stripe = probe.server, probe.stripe
    store = open_store(server, lamp_price=1000)
    with server.client() as client:
        # Given a cart with a payment session, changed afterwards (no Stripe call)
        cart_id = shipped_lamp(client, store)
        intent_id = intent_of_session(client, cart_id)
        line_id = first_line(client, cart_id)
        final = client.post(
            f"/store/carts/{cart_id}/line-items/{line_id}", json={"quantity": 4}
        ).json()
        # When the storefront completes before the customer confirmed
        early = client.post(f"/store/carts/{cart_id}/complete")
        # Then it is refused, and the amount at Stripe is now the cart's total
        assert early.status_code == 409 and early.json()["error"] == "PaymentNotAuthorized"
        assert int(server.stripe().v1.payment_intents.retrieve(intent_id).amount) == final["total"]
        assert authorize_at_stripe(server, intent_id) == "requires_capture"
        done = client.post(f"/store/carts/{cart_id}/complete")
        assert done.status_code == 200, done.text
    order = server.container.ledger.repository.get(UUID(done.json()["order_id"]))
    assert order.total == final["total"]
    assert stripe.calls  # the stand-in did see the session's and complete's calls


def test_a_change_between_authorization_and_its_webhook_costs_no_call_and_voids_the_hold(
    probe: Probe,
) -> None:
    server, stripe = probe.server, probe.stripe
    store = open_store(server)
    with server.client() as client:
        # Given a cart whose PaymentIntent was just authorized, no webhook told us yet
        cart_id = shipped_lamp(client, store)
        intent_id = intent_of_session(client, cart_id)
        assert authorize_at_stripe(server, intent_id) == "requires_capture"
        line_id = first_line(client, cart_id)
        stripe.calls.clear()
        # When the cart changes, the change costs no Stripe call
        changed = client.post(f"/store/carts/{cart_id}/line-items/{line_id}", json={"quantity": 2})
        assert changed.status_code == 200, changed.text
        assert stripe.calls == []
        # Then the authorization for the old total never becomes an order: its hold is
        # released, and the cart may be paid again with a new session
        refused = client.post(f"/store/carts/{cart_id}/complete")
        assert refused.status_code == 409 and refused.json()["error"] == "OrderNotCreated"
        assert server.stripe().v1.payment_intents.retrieve(intent_id).status == "canceled"
        renewed = client.post(f"/store/carts/{cart_id}/payment-session")
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["payment_intent_id"] != intent_id
        assert renewed.json()["amount"] == changed.json()["total"]
