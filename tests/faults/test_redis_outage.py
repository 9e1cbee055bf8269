"""Redis dies in the grace period and comes back empty: every capture still happens, once."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import UUID

import pytest
import redis

from domain.ids import order_id_for
from infra.stripe_emulator import RunningEmulator
from infra.timers import KEY_PREFIX
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import fresh_database, open_shop, running_server
from tests.faults.faithful_stripe import FaithfulStripe
from tests.faults.probes import OwnRedis, count_events, payment_of, wait_until

GRACE_SECONDS = 3
ORDERS = 3


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_killed_in_the_grace_period_and_restarted_empty_still_captures_each_order_once(
    database_url: str, emulator: RunningEmulator, faithful: FaithfulStripe, own_redis: OwnRedis
) -> None:
    with (
        fresh_database(database_url) as url,
        running_server(
            url,
            own_redis.url,
            emulator,
            capture_grace_seconds=GRACE_SECONDS,
            capture_sweep_seconds=0.5,
        ) as server,
    ):
        shop = open_shop(server, stock=50)
        intents: list[str] = []
        with server.client() as client:
            for _ in range(ORDERS):
                cart, intent_id = authorized_cart(server, client, shop, quantity=1)
                done = client.post(f"/store/carts/{cart['id']}/complete")
                assert done.status_code == 200, done.text
                intents.append(intent_id)
            late_cart, late_intent = authorized_cart(server, client, shop, quantity=1)
        orders = [order_id_for(pi) for pi in intents]
        # The process manager has scheduled every capture and set its Redis timer.
        wait_until(
            lambda: all(payment_of(server, o).capture_due_at for o in orders),
            what="every capture scheduled",
        )
        timers = redis.Redis.from_url(own_redis.url)
        try:
            # What the kill loses: the timers of the captures still to come.
            assert any(timers.exists(f"{KEY_PREFIX}{o}") for o in orders)
        finally:
            timers.close()
        due = max(
            due_at for o in orders if (due_at := payment_of(server, o).capture_due_at) is not None
        )

        own_redis.kill()
        # Checkout needs the lock in Redis: a clean 503 meanwhile, not a 500.
        with server.client() as client:
            refused = client.post(f"/store/carts/{late_cart['id']}/complete")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "ServiceUnavailable"
        clock = server.container.services.clock
        wait_until(lambda: clock() > due, GRACE_SECONDS + 5, "the captures to fall due")

        own_redis.start()  # empty: no timers, no locks
        with server.client() as client:
            late = client.post(f"/store/carts/{late_cart['id']}/complete")
        assert late.status_code == 200, late.text
        orders.append(UUID(late.json()["order_id"]))
        intents.append(late_intent)

        wait_until(
            lambda: all(payment_of(server, o).is_captured for o in orders),
            GRACE_SECONDS + 20,
            "every due capture after Redis came back",
        )
        stripe_client = server.stripe()
        for order_id, intent_id in zip(orders, intents, strict=True):
            payment = payment_of(server, order_id)
            assert [t["kind"] for t in payment.transactions] == ["authorization", "capture"]
            assert count_events(url, ":PaymentCollection.CaptureSucceeded", payment.id) == 1, (
                order_id
            )
            assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "succeeded"
            charged = faithful.successful_captures(intent_id)
            assert [c.amount for c in charged] == [payment.captured]
