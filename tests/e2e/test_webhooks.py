"""Stripe webhooks end to end: signed Stripe-shaped events over HTTP, against the emulator."""

from __future__ import annotations

import json
import time
import uuid
from uuid import UUID

import httpx
import stripe

from domain.ids import inventory_level_id_for, order_id_for, payment_collection_id_for
from domain.order import Order
from domain.payment_collection import PaymentCollection
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import (
    WEBHOOK_SECRET,
    LiveServer,
    Shop,
    authorize_at_stripe,
    payment_intent_event,
    post_webhook,
    signed_event,
)
from tests.e2e.ledger_probe import settled_head

AUTHORIZED = "payment_intent.amount_capturable_updated"
CANCELED = "payment_intent.canceled"


def deliver_event(
    server: LiveServer,
    client: httpx.Client,
    event_type: str,
    intent_id: str,
    event_id: str | None = None,
) -> httpx.Response:
    body, signature = signed_event(payment_intent_event(server, event_type, intent_id, event_id))
    return post_webhook(client, body, signature)


def order_of(server: LiveServer, intent_id: str) -> Order | None:
    return server.container.ledger.get_or_none(order_id_for(intent_id), Order)


def reserved(server: LiveServer, shop: Shop) -> int:
    level = server.container.ledger.repository.get(
        inventory_level_id_for(shop.variant, shop.berlin)
    )
    return int(level.reserved)


def test_an_authorization_webhook_places_the_order_that_complete_then_returns(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=10)
    with live_server.client() as client:
        cart, intent_id = authorized_cart(live_server, client, shop, quantity=2)
        answer = deliver_event(live_server, client, AUTHORIZED, intent_id)
        assert answer.status_code == 200, answer.text

        order = order_of(live_server, intent_id)
        assert order is not None
        assert order.total == cart["total"]
        assert order.placed_by.startswith("webhook:")
        payment = live_server.container.ledger.repository.get(payment_collection_id_for(order.id))
        assert payment.status == "authorized" and payment.authorized == cart["total"]
        assert reserved(live_server, shop) == 2

        done = client.post(f"/store/carts/{cart['id']}/complete")
        assert done.status_code == 200, done.text
        assert done.json()["order_id"] == str(order_id_for(intent_id))
        assert done.json()["status"] == "placed"
    assert reserved(live_server, shop) == 2


def test_the_same_event_delivered_again_is_acknowledged_and_changes_nothing(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=10)
    ledger = live_server.container.ledger
    with live_server.client() as client:
        cart, intent_id = authorized_cart(live_server, client, shop, quantity=1)
        body, signature = signed_event(payment_intent_event(live_server, AUTHORIZED, intent_id))
        assert post_webhook(client, body, signature).status_code == 200
        assert live_server.container.services.webhooks.seen(json.loads(body)["id"])
        settled_head(live_server)  # the capture is scheduled: the payment changes no more
        order = order_of(live_server, intent_id)
        assert order is not None
        payment = ledger.repository.get(payment_collection_id_for(order.id))
        completed = ledger.repository.get(UUID(cart["id"]))

        again = post_webhook(client, body, signature)
        assert again.status_code == 200, again.text

    # Judged by this checkout's own aggregates: the live server is shared, and other
    # tests' orders may still be written to meanwhile (the log's head is no measure).
    assert ledger.repository.get(completed.id).version == completed.version
    assert ledger.repository.get(order.id).version == order.version
    assert ledger.repository.get(payment.id).version == payment.version
    assert reserved(live_server, shop) == 1


def test_an_event_of_a_type_the_ledger_does_not_handle_is_acknowledged_and_ignored(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    ledger = live_server.container.ledger
    with live_server.client() as client:
        _, intent_id = authorized_cart(live_server, client, shop)
        head = settled_head(live_server)
        for event_type in ("payment_intent.created", "charge.refunded", "customer.created"):
            answer = deliver_event(live_server, client, event_type, intent_id)
            assert answer.status_code == 200, answer.text
    assert ledger.head == head
    assert order_of(live_server, intent_id) is None


def test_a_tampered_body_or_signature_is_refused_and_nothing_is_recorded(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    ledger = live_server.container.ledger
    with live_server.client() as client:
        _, intent_id = authorized_cart(live_server, client, shop)
        event = payment_intent_event(live_server, AUTHORIZED, intent_id)
        body, signature = signed_event(event)
        head = settled_head(live_server)

        tampered_body = body.replace(b'"object": "event"', b'"object": "event", "x": 1')
        assert tampered_body != body
        timestamp, _, digest = signature.partition(",v1=")
        tampered_signature = f"{timestamp},v1={digest[::-1]}"
        _, foreign_signature = signed_event(event, secret="whsec_someone_else")
        not_utf8 = body + b"\xff\xfe"
        garbled_header = "not a stripe signature"

        for sent_body, sent_signature in (
            (tampered_body, signature),
            (body, tampered_signature),
            (body, foreign_signature),
            (not_utf8, signature),
            (body, garbled_header),
        ):
            answer = post_webhook(client, sent_body, sent_signature)
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"] == "InvalidWebhook"
            assert answer.json()["detail"]

    assert ledger.head == head
    assert order_of(live_server, intent_id) is None
    assert not live_server.container.services.webhooks.seen(event["id"])


def test_a_signature_older_than_five_minutes_is_refused(live_server: LiveServer, make_shop) -> None:
    shop = make_shop()
    with live_server.client() as client:
        _, intent_id = authorized_cart(live_server, client, shop)
        event = payment_intent_event(live_server, AUTHORIZED, intent_id)
        body, signature = signed_event(event, timestamp=int(time.time()) - 301)
        answer = post_webhook(client, body, signature)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "InvalidWebhook"
    assert order_of(live_server, intent_id) is None
    assert not live_server.container.services.webhooks.seen(event["id"])


def test_a_webhook_without_a_signature_header_is_refused(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    with live_server.client() as client:
        _, intent_id = authorized_cart(live_server, client, shop)
        body, _ = signed_event(payment_intent_event(live_server, AUTHORIZED, intent_id))
        answer = post_webhook(client, body, None)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "InvalidWebhook"
        empty = post_webhook(client, body, "")
        assert empty.status_code == 400, empty.text
    assert order_of(live_server, intent_id) is None


def test_a_validly_signed_body_that_is_not_a_json_event_is_refused(
    live_server: LiveServer,
) -> None:
    head = settled_head(live_server)
    with live_server.client() as client:
        for raw in ('{"id": "evt_1", "type": ', "[1, 2, 3]", '{"type": "payment_intent.canceled"}'):
            signature = stripe.WebhookSignature.generate_signature_header(raw, WEBHOOK_SECRET)
            answer = post_webhook(client, raw.encode(), signature)
            assert answer.status_code == 400, (raw, answer.text)
            assert answer.json()["error"] == "InvalidWebhook"
    assert live_server.container.ledger.head == head


def test_a_cancellation_after_the_order_voids_the_payment_cancels_the_order_and_releases_stock(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=10)
    ledger = live_server.container.ledger
    with live_server.client() as client:
        _, intent_id = authorized_cart(live_server, client, shop, quantity=3)
        assert deliver_event(live_server, client, AUTHORIZED, intent_id).status_code == 200
        assert reserved(live_server, shop) == 3

        live_server.stripe().v1.payment_intents.cancel(intent_id)
        answer = deliver_event(live_server, client, CANCELED, intent_id)
        assert answer.status_code == 200, answer.text

    order = ledger.repository.get(order_id_for(intent_id))
    assert order.status == "canceled"
    payment = ledger.repository.get(payment_collection_id_for(order.id))
    assert isinstance(payment, PaymentCollection)
    assert payment.status == "canceled"
    assert [t["kind"] for t in payment.transactions] == ["authorization", "void"]
    assert reserved(live_server, shop) == 0


def test_a_cancellation_that_arrives_before_the_authorization_means_no_order_is_ever_placed(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=10)
    ledger = live_server.container.ledger
    with live_server.client() as client:
        cart, intent_id = authorized_cart(live_server, client, shop, quantity=1)
        # Stripe sent both events; the authorization one is delivered last.
        authorization = payment_intent_event(live_server, AUTHORIZED, intent_id)
        live_server.stripe().v1.payment_intents.cancel(intent_id)
        head = settled_head(live_server)

        assert deliver_event(live_server, client, CANCELED, intent_id).status_code == 200
        late = post_webhook(client, *signed_event(authorization))
        assert late.status_code == 200, late.text
        assert order_of(live_server, intent_id) is None

        complete = client.post(f"/store/carts/{cart['id']}/complete")
        assert complete.status_code == 409, complete.text
        assert complete.json()["error"] == "PaymentNotAuthorized"

    assert order_of(live_server, intent_id) is None
    assert (
        ledger.get_or_none(payment_collection_id_for(order_id_for(intent_id)), PaymentCollection)
        is None
    )
    assert ledger.head == head
    assert reserved(live_server, shop) == 0


def test_an_authorization_for_a_payment_intent_no_cart_started_places_nothing(
    live_server: LiveServer,
) -> None:
    stripe_client = live_server.stripe()
    intent = stripe_client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "eur", "capture_method": "manual"}
    )
    assert authorize_at_stripe(live_server, intent.id) == "requires_capture"
    head = settled_head(live_server)
    with live_server.client() as client:
        answer = deliver_event(
            live_server, client, AUTHORIZED, intent.id, f"evt_{uuid.uuid4().hex}"
        )
        assert answer.status_code == 200, answer.text
    assert live_server.container.ledger.head == head
    assert order_of(live_server, intent.id) is None
