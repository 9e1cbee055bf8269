"""Webhooks that are stale, replayed, or out of order change nothing they should not."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.ids import inventory_level_id_for, order_id_for, payment_collection_id_for
from domain.inventory_level import InventoryLevel
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import (
    LiveServer,
    Shop,
    open_shop,
    payment_intent_event,
    server_of_its_own,
    signed_event,
)
from tests.faults.faithful_stripe import FaithfulStripe
from tests.faults.probes import count_events, payment_of, post_webhook, settled, wait_until

GRACE_SECONDS = 2
AUTHORIZED = "payment_intent.amount_capturable_updated"
CANCELED = "payment_intent.canceled"
REPLAYS = 100


@pytest.fixture(scope="module")
def server(
    database_url: str, faults_redis_url: str, emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with server_of_its_own(
        database_url,
        faults_redis_url,
        emulator,
        capture_grace_seconds=GRACE_SECONDS,
        capture_sweep_seconds=0.5,
    ) as live:
        yield live


def reserved(server: LiveServer, shop: Shop) -> int:
    level: InventoryLevel = server.container.ledger.repository.get(
        inventory_level_id_for(shop.variant, shop.berlin)
    )
    return int(level.reserved)


def past_due(server: LiveServer, order_placed_at: float) -> None:
    """Wait until the grace period is over and the sweeper has looked a few times since."""
    wait_until(
        lambda: time.monotonic() > order_placed_at + GRACE_SECONDS + 2.0,
        GRACE_SECONDS + 5,
        "the grace period to pass",
    )


def test_a_signed_event_replayed_an_hour_later_is_refused_with_400(server: LiveServer) -> None:
    shop = open_shop(server)
    with server.client() as client:
        _, intent_id = authorized_cart(server, client, shop)
        event = payment_intent_event(server, AUTHORIZED, intent_id)
        body, signature = signed_event(event, timestamp=int(time.time()) - 3600)
        answer = post_webhook(client, body, signature)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "InvalidWebhook"
    assert server.container.ledger.get_or_none(order_id_for(intent_id), Order) is None
    assert not server.container.services.webhooks.seen(event["id"])


def test_one_valid_event_replayed_a_hundred_times_has_one_effect(server: LiveServer) -> None:
    shop = open_shop(server, stock=10)
    with server.client() as client:
        _, intent_id = authorized_cart(server, client, shop, quantity=2)
    body, signature = signed_event(payment_intent_event(server, AUTHORIZED, intent_id))

    def deliver(_: int) -> int:
        with server.client() as own:
            return post_webhook(own, body, signature).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(deliver, range(REPLAYS), timeout=60))
    assert statuses == [200] * REPLAYS
    order_id = order_id_for(intent_id)
    database_url = server.container.database_url
    assert count_events(database_url, ":Order.Placed", order_id) == 1
    payment_id = payment_collection_id_for(order_id)
    assert count_events(database_url, ":PaymentCollection.Authorized", payment_id) == 1
    assert reserved(server, shop) == 2
    assert server.container.services.webhooks.seen(json.loads(body)["id"])
    # One more replay later still has no effect. (The worker may capture meanwhile:
    # the grace here is short, so the log's head is no measure of the replay.)
    settled(server)
    with server.client() as client:
        assert post_webhook(client, body, signature).status_code == 200
    assert count_events(database_url, ":Order.Placed", order_id) == 1
    assert count_events(database_url, ":PaymentCollection.Authorized", payment_id) == 1
    assert reserved(server, shop) == 2


def test_a_cancellation_before_the_late_authorization_event_places_no_order_ever(
    server: LiveServer,
) -> None:
    shop = open_shop(server, stock=10)
    with server.client() as client:
        cart, intent_id = authorized_cart(server, client, shop, quantity=1)
        stale_authorization = payment_intent_event(server, AUTHORIZED, intent_id)
        server.stripe().v1.payment_intents.cancel(intent_id)
        started = time.monotonic()
        canceled = post_webhook(
            client, *signed_event(payment_intent_event(server, CANCELED, intent_id))
        )
        assert canceled.status_code == 200, canceled.text
        late = post_webhook(client, *signed_event(stale_authorization))
        assert late.status_code == 200, late.text
        complete = client.post(f"/store/carts/{cart['id']}/complete")
        assert complete.status_code == 409, complete.text
    past_due(server, started)
    order_id = order_id_for(intent_id)
    assert server.container.ledger.get_or_none(order_id, Order) is None
    assert count_events(server.container.database_url, ":Order.Placed", order_id) == 0
    assert reserved(server, shop) == 0
    assert server.stripe().v1.payment_intents.retrieve(intent_id).status == "canceled"


def test_a_cancellation_after_the_order_voids_it_and_no_late_event_or_grace_end_captures_it(
    server: LiveServer, faithful: FaithfulStripe
) -> None:
    shop = open_shop(server, stock=10)
    with server.client() as client:
        _, intent_id = authorized_cart(server, client, shop, quantity=3)
        stale_authorization = payment_intent_event(server, AUTHORIZED, intent_id)
        placed = post_webhook(client, *signed_event(stale_authorization))
        assert placed.status_code == 200, placed.text
        started = time.monotonic()
        assert reserved(server, shop) == 3
        server.stripe().v1.payment_intents.cancel(intent_id)
        canceled = post_webhook(
            client, *signed_event(payment_intent_event(server, CANCELED, intent_id))
        )
        assert canceled.status_code == 200, canceled.text
        # The authorization event again, late and under a new id (a Stripe retry).
        again = dict(stale_authorization, id=f"{stale_authorization['id']}_retry")
        assert post_webhook(client, *signed_event(again)).status_code == 200
    past_due(server, started)
    order_id = order_id_for(intent_id)
    order: Order = server.container.ledger.repository.get(order_id)
    assert isinstance(order, Order) and order.status == "canceled"
    payment = payment_of(server, order_id)
    assert payment.voided and not payment.is_captured
    assert [t["kind"] for t in payment.transactions] == ["authorization", "void"]
    database_url = server.container.database_url
    assert count_events(database_url, ":PaymentCollection.CaptureSucceeded", payment.id) == 0
    assert count_events(database_url, ":Order.Placed", order_id) == 1
    assert reserved(server, shop) == 0
    assert server.stripe().v1.payment_intents.retrieve(intent_id).status == "canceled"
    assert not faithful.successful_captures(intent_id)


def test_a_hold_canceled_at_stripe_with_no_webhook_at_all_ends_voided_when_capture_falls_due(
    server: LiveServer, faithful: FaithfulStripe
) -> None:
    shop = open_shop(server, stock=10)
    with server.client() as client:
        cart, intent_id = authorized_cart(server, client, shop, quantity=2)
        done = client.post(f"/store/carts/{cart['id']}/complete")
        assert done.status_code == 200, done.text
    order_id = order_id_for(intent_id)
    server.stripe().v1.payment_intents.cancel(intent_id)  # the webhook is lost
    payment = wait_until(
        lambda: (p := payment_of(server, order_id)).voided and p,
        GRACE_SECONDS + 15,
        "the capture worker to find the hold gone",
    )
    assert isinstance(payment, PaymentCollection) and not payment.is_captured
    order: Order = server.container.ledger.repository.get(order_id)
    assert order.status == "canceled"
    assert reserved(server, shop) == 0
    assert count_events(server.container.database_url, ":CaptureSucceeded", payment.id) == 0
    assert not faithful.successful_captures(intent_id)
    assert server.stripe().v1.payment_intents.retrieve(intent_id).status == "canceled"
