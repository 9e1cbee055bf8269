"""One authorization, many deliveries at once: the order is placed exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import httpx
import psycopg

from domain.ids import inventory_level_id_for, order_id_for, payment_collection_id_for
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.database import conninfo
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import LiveServer, payment_intent_event, post_webhook, signed_event

WEBHOOKS = 20
COMPLETES = 5


def count_events(database_url: str, originator_id: UUID, topic_suffix: str) -> int:
    """Rows of ``originator_id`` in the event store whose topic ends with ``topic_suffix``."""
    with psycopg.connect(conninfo(database_url)) as connection:
        row = connection.execute(
            "SELECT count(*) FROM orderledger_events WHERE originator_id = %s AND topic LIKE %s",
            (originator_id, f"%{topic_suffix}"),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_twenty_webhooks_and_five_completes_at_once_place_exactly_one_order(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=10)
    quantity = 3
    with live_server.client() as client:
        cart, intent_id = authorized_cart(live_server, client, shop, quantity=quantity)
    deliveries = [
        signed_event(
            payment_intent_event(live_server, "payment_intent.amount_capturable_updated", intent_id)
        )
        for _ in range(WEBHOOKS)
    ]
    start = threading.Barrier(WEBHOOKS + COMPLETES, timeout=20)

    def webhook(delivery: tuple[bytes, str]) -> httpx.Response:
        body, signature = delivery
        with live_server.client() as own:
            start.wait()
            return post_webhook(own, body, signature)

    def complete() -> httpx.Response:
        with live_server.client() as own:
            start.wait()
            return own.post(f"/store/carts/{cart['id']}/complete")

    with ThreadPoolExecutor(max_workers=WEBHOOKS + COMPLETES) as pool:
        webhook_futures = [pool.submit(webhook, d) for d in deliveries]
        complete_futures = [pool.submit(complete) for _ in range(COMPLETES)]
        webhook_answers = [f.result(timeout=30) for f in webhook_futures]
        complete_answers = [f.result(timeout=30) for f in complete_futures]

    assert [a.status_code for a in webhook_answers] == [200] * WEBHOOKS, [
        a.text for a in webhook_answers if a.status_code != 200
    ]
    assert [a.status_code for a in complete_answers] == [200] * COMPLETES, [
        a.text for a in complete_answers if a.status_code != 200
    ]
    expected_order_id = order_id_for(intent_id)
    assert {a.json()["order_id"] for a in complete_answers} == {str(expected_order_id)}
    # Exactly one answer carries the order's token (issue #18, finding 13).
    assert len([a for a in complete_answers if a.json()["access_token"]]) == 1

    ledger = live_server.container.ledger
    order = ledger.repository.get(expected_order_id)
    assert isinstance(order, Order) and order.total == cart["total"]
    database_url = live_server.container.database_url
    assert count_events(database_url, expected_order_id, ":Order.Placed") == 1

    payment_id = payment_collection_id_for(expected_order_id)
    payment = ledger.repository.get(payment_id)
    assert isinstance(payment, PaymentCollection)
    assert [t["kind"] for t in payment.transactions] == ["authorization"]
    assert count_events(database_url, payment_id, ":PaymentCollection.Created") == 1

    level_id = inventory_level_id_for(shop.variant, shop.berlin)
    level = ledger.repository.get(level_id)
    assert (level.stocked, level.reserved) == (10, quantity)
    assert count_events(database_url, level_id, ":InventoryLevel.StockReserved") == 1
