"""Many deliveries of one authorization, and many buyers for the last units."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from domain.ids import inventory_level_id_for, order_id_for, payment_collection_id_for
from domain.inventory_level import InventoryLevel
from domain.order import Order
from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import (
    LiveServer,
    open_shop,
    payment_intent_event,
    server_of_its_own,
    signed_event,
)
from tests.faults.probes import count_events, post_webhook, wait_until

WEBHOOKS = 50
COMPLETES = 5
BUYERS = 12
SHORT_BY = 4
ANSWER_SECONDS = 60


@pytest.fixture(scope="module")
def server(
    database_url: str, faults_redis_url: str, emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with server_of_its_own(database_url, faults_redis_url, emulator) as live:
        yield live


def test_fifty_webhooks_and_five_completes_at_once_place_one_order_and_all_answer_2xx(
    server: LiveServer,
) -> None:
    shop = open_shop(server, stock=10)
    with server.client() as client:
        cart, intent_id = authorized_cart(server, client, shop, quantity=2)
    # Stripe retries and duplicates: each delivery is its own event id.
    deliveries = [
        signed_event(
            payment_intent_event(server, "payment_intent.amount_capturable_updated", intent_id)
        )
        for _ in range(WEBHOOKS)
    ]
    start = threading.Barrier(WEBHOOKS + COMPLETES, timeout=30)

    def webhook(delivery: tuple[bytes, str]) -> httpx.Response:
        with server.client() as own:
            start.wait()
            return post_webhook(own, *delivery)

    def complete() -> httpx.Response:
        with server.client() as own:
            start.wait()
            return own.post(f"/store/carts/{cart['id']}/complete")

    with ThreadPoolExecutor(max_workers=WEBHOOKS + COMPLETES) as pool:
        hooks = [pool.submit(webhook, d) for d in deliveries]
        completes = [pool.submit(complete) for _ in range(COMPLETES)]
        hook_answers = [f.result(timeout=ANSWER_SECONDS) for f in hooks]
        complete_answers = [f.result(timeout=ANSWER_SECONDS) for f in completes]

    bad = [(a.status_code, a.text) for a in hook_answers + complete_answers if a.status_code >= 300]
    assert not bad, bad
    order_id = order_id_for(intent_id)
    assert {a.json()["order_id"] for a in complete_answers} == {str(order_id)}
    database_url = server.container.database_url
    assert count_events(database_url, ":Order.Placed", order_id) == 1
    payment_id = payment_collection_id_for(order_id)
    assert count_events(database_url, ":PaymentCollection.Created", payment_id) == 1
    assert count_events(database_url, ":PaymentCollection.Authorized", payment_id) == 1
    level_id = inventory_level_id_for(shop.variant, shop.berlin)
    assert count_events(database_url, ":InventoryLevel.StockReserved", level_id) == 1
    order: Order = server.container.ledger.repository.get(order_id)
    assert isinstance(order, Order) and order.total == cart["total"]
    level: InventoryLevel = server.container.ledger.repository.get(level_id)
    assert (level.stocked, level.reserved) == (10, 2)
    # Every delivery was taken in: none is left for Stripe to retry.
    assert all(server.container.services.webhooks.seen(_event_id(d)) for d in deliveries)


def _event_id(delivery: tuple[bytes, str]) -> str:
    return str(json.loads(delivery[0])["id"])


def test_twelve_buyers_for_eight_last_units_make_eight_orders_and_release_four_holds(
    server: LiveServer,
) -> None:
    units = BUYERS - SHORT_BY
    shop = open_shop(server, stock=units, backorder=False)
    ledger = server.container.ledger
    level_id = inventory_level_id_for(shop.variant, shop.berlin)

    def prepare(_: int) -> tuple[dict[str, Any], str]:
        with server.client() as client:
            return authorized_cart(server, client, shop, quantity=1)

    with ThreadPoolExecutor(max_workers=6) as pool:
        carts = list(pool.map(prepare, range(BUYERS)))

    # Watch the stock while the buyers race: neither the aggregate nor the view dips below 0.
    seen_available: list[int] = []
    seen_in_view: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        with server.admin() as admin:
            while not stop.is_set():
                level: InventoryLevel = ledger.repository.get(level_id)
                seen_available.append(level.available)
                rows = admin.get(f"/admin/inventory-levels?variant_id={shop.variant}").json()
                seen_in_view.extend(
                    r["available_quantity"] for r in rows if r["location_id"] == shop.berlin
                )

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = threading.Barrier(BUYERS, timeout=30)

    def complete(cart: dict[str, Any]) -> httpx.Response:
        with server.client() as own:
            start.wait()
            return own.post(f"/store/carts/{cart['id']}/complete")

    try:
        with ThreadPoolExecutor(max_workers=BUYERS) as pool:
            futures = [pool.submit(complete, cart) for cart, _ in carts]
            answers = [f.result(timeout=ANSWER_SECONDS) for f in futures]
        with server.admin() as admin:
            wait_until(
                lambda: [
                    r
                    for r in admin.get(f"/admin/inventory-levels?variant_id={shop.variant}").json()
                    if r["location_id"] == shop.berlin and r["reserved_quantity"] == units
                ],
                what="the inventory view showing every reservation",
            )
    finally:
        stop.set()
        sampler.join(timeout=10)

    placed = [(c, pi) for (c, pi), a in zip(carts, answers, strict=True) if a.status_code == 200]
    refused = [
        (c, pi, a) for (c, pi), a in zip(carts, answers, strict=True) if a.status_code != 200
    ]
    assert len(placed) == units, [a.text for a in answers]
    assert len(refused) == SHORT_BY
    for _, _, answer in refused:
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"] == "OrderNotCreated"
    stripe_client = server.stripe()
    for _, intent_id, _ in refused:
        assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "canceled"
        assert ledger.get_or_none(order_id_for(intent_id), Order) is None
    database_url = server.container.database_url
    for _, intent_id in placed:
        assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "requires_capture"
        assert count_events(database_url, ":Order.Placed", order_id_for(intent_id)) == 1
    assert count_events(database_url, ":InventoryLevel.StockReserved", level_id) == units

    level: InventoryLevel = ledger.repository.get(level_id)
    assert isinstance(level, InventoryLevel)
    assert (level.stocked, level.reserved, level.available) == (units, units, 0)
    with server.admin() as admin:
        rows = admin.get(f"/admin/inventory-levels?variant_id={shop.variant}").json()
    berlin = next(r for r in rows if r["location_id"] == shop.berlin)
    assert (berlin["reserved_quantity"], berlin["available_quantity"]) == (units, 0)
    assert seen_available and min(seen_available) >= 0
    assert seen_in_view and min(seen_in_view) >= 0
