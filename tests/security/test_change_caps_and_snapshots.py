"""Finding 9: carts and orders grow without bound and are never snapshotted.

On main, 2,000 anonymous changes made a cart read take 142 ms instead of 24: every read
replayed every event. Carts take at most ``MAX_CART_CHANGES`` changes and orders at most
``MAX_ORDER_CHANGES`` (then 409 ``TooManyChanges``), and both are snapshotted, so a read
loads a snapshot and fewer than 50 events however long the stream.

Reaching a cap over HTTP would take ten seconds, so the bulk of the changes goes through
the same use cases in-process (the server's own services); the last ones, and the
refusal, go over HTTP as an attacker would send them.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from commands import order_changes
from commands.ledger import Ledger
from domain.cart import MAX_CART_CHANGES, Cart
from domain.ids import payment_collection_id_for
from domain.order import MAX_ORDER_CHANGES, Order
from domain.payment_collection import PaymentCollection
from tests.e2e.checkout_flow import first_line, intent_of_session
from tests.e2e.conftest import authorize_at_stripe
from tests.security.domain_shop import Probe, cart_of, open_store, shipped_lamp

pytestmark = pytest.mark.e2e

INTERVAL = Ledger.snapshotting_intervals[Cart]


def events_loaded(ledger: Ledger, aggregate_id: UUID) -> int:
    """How many stored records one read of the aggregate loads (its snapshot, if any,
    and the events after it) — what a cart or order read costs."""
    assert ledger.stored_reader is not None
    return len(ledger.stored_reader.read([aggregate_id]))


def test_a_cart_changed_a_thousand_times_refuses_more_and_still_reads_from_a_snapshot(
    probe: Probe,
) -> None:
    server = probe.server
    services = server.container.services
    store = open_store(server)
    with server.client() as client:
        cart_id = cart_of(client, store, store.lamp)
        line_id = first_line(client, cart_id)
        # Given a cart an anonymous client changed up to just below the cap (the same
        # decisions as its HTTP changes, saved a hundred at a time to keep this fast)
        cart = services.ledger.get_or_none(UUID(cart_id), Cart)
        assert cart is not None
        for i in range(MAX_CART_CHANGES - cart.version - 3):
            cart.change_quantity(line_id, 2 + i % 2, now=services.clock())
            if len(cart.pending_events) == 100:
                services.ledger.save_all(cart)
        services.ledger.save_all(cart)
        # When it keeps changing it over HTTP
        answers = [
            client.post(f"/store/carts/{cart_id}/line-items/{line_id}", json={"quantity": q})
            for q in (5, 6, 7, 8)
        ]
        shipping = client.post(
            f"/store/carts/{cart_id}/shipping-method", json={"shipping_option_id": store.shipping}
        )
        read = client.get(f"/store/carts/{cart_id}")
    # Then the changes within the cap are taken, and the next are refused with a reason
    assert [a.status_code for a in answers] == [200, 200, 200, 409]
    assert answers[-1].json()["error"] == "TooManyChanges"
    assert shipping.status_code == 409 and shipping.json()["error"] == "TooManyChanges"
    # And the cart is still readable, from a snapshot and a few events
    assert read.status_code == 200 and read.json()["items"][0]["quantity"] == 7
    loaded = events_loaded(services.ledger, UUID(cart_id))
    assert loaded <= INTERVAL, loaded
    from_snapshot = services.ledger.get_or_none(UUID(cart_id), Cart)
    replayed: Any = None
    every_event: list[Any] = list(services.ledger.events.get(UUID(cart_id)))  # no snapshot
    for event in every_event:
        replayed = event.mutate(replayed)
    assert from_snapshot is not None and replayed.version == MAX_CART_CHANGES
    assert vars(from_snapshot) == vars(replayed)


def test_an_order_changed_to_its_cap_refuses_more_and_reads_from_a_snapshot(
    probe: Probe,
) -> None:
    server = probe.server
    services = server.container.services
    store = open_store(server)
    with server.client() as client:
        cart_id = shipped_lamp(client, store)
        client.post(
            f"/store/carts/{cart_id}/line-items", json={"variant_id": store.lamp, "quantity": 1}
        )
        intent_id = intent_of_session(client, cart_id)
        assert authorize_at_stripe(server, intent_id) == "requires_capture"
        placed = client.post(f"/store/carts/{cart_id}/complete").json()
        order_id = UUID(placed["order_id"])
        order = services.ledger.get_or_none(order_id, Order)
        assert order is not None
        [line_id] = list(order.lines)
        # Given an order its customer changed (2 -> 1 -> 2 ...: never above the hold)
        quantity = 2
        while (order := services.ledger.get_or_none(order_id, Order)) is not None and (
            order.version < MAX_ORDER_CHANGES - 4
        ):
            quantity = 3 - quantity
            order_changes.change_line_item(
                services, order_id, line_id, quantity=quantity, by="customer"
            )
        # When the customer keeps changing it over HTTP
        answers = []
        for _ in range(4):
            quantity = 3 - quantity
            answers.append(
                client.post(
                    f"/store/orders/{order_id}/line-items/{line_id}",
                    json={"quantity": quantity},
                    headers={"X-Order-Token": placed["access_token"]},
                )
            )
    # Then the order stops taking changes at the cap, with a reason
    statuses = [a.status_code for a in answers]
    assert 409 in statuses and statuses[: statuses.index(409)] == [200] * statuses.index(409)
    refused = answers[statuses.index(409)].json()
    assert refused["error"] == "TooManyChanges", refused
    # And each change loads it from a snapshot and a few events
    loaded = events_loaded(services.ledger, order_id)
    assert loaded <= Ledger.snapshotting_intervals[Order], loaded
    # (each change also moved the payment collection's amount: it is snapshotted too)
    payment_loaded = events_loaded(services.ledger, payment_collection_id_for(order_id))
    assert payment_loaded <= Ledger.snapshotting_intervals[PaymentCollection], payment_loaded
