"""Views read from a hot standby: storefront and admin reads are answered there, a read
that waits for a position sees the write it follows, and a stopped standby sends the
reads to the primary without an error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from domain.ids import order_id_for
from infra.stripe_emulator import RunningEmulator
from infra.view_store import VIEWS
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import LiveServer, Shop, open_shop, running_server
from tests.faults.probes import wait_until
from tests.replicas.cluster import Cluster, primary_with_standby


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with primary_with_standby() as running:
        yield running


@pytest.fixture(scope="module")
def server(
    cluster: Cluster,
    redis_url: str,
    stripe_emulator: RunningEmulator,
) -> Iterator[LiveServer]:
    with running_server(
        cluster.primary_url,
        redis_url,
        stripe_emulator,
        read_database_url=cluster.standby_url,
        # Generous, so that a standby paused on purpose stays the one read.
        read_standby_max_lag_seconds=30,
    ) as running:
        standbys = running.container.standbys
        assert standbys is not None
        wait_until(lambda: standbys.usable() == 0, 15, "the standby to be measured caught up")
        yield running


@pytest.fixture(scope="module")
def shop(server: LiveServer) -> Shop:
    return open_shop(server, stock=50)


def served(server: LiveServer) -> int:
    standbys = server.container.standbys
    assert standbys is not None
    return standbys.served[0]


def place(server: LiveServer, shop: Shop, client: httpx.Client) -> tuple[str, int]:
    cart, intent_id = authorized_cart(server, client, shop, quantity=1)
    done = client.post(f"/store/carts/{cart['id']}/complete")
    assert done.status_code == 200, done.text
    return intent_id, int(done.headers["X-Ledger-Position"])


def on_standby(cluster: Cluster, statement: str) -> Any:
    with psycopg.connect(cluster.standby_url, autocommit=True) as conn:
        return conn.execute(statement).fetchone()


def test_a_read_with_min_position_right_after_a_write_sees_the_write(
    server: LiveServer, shop: Shop
) -> None:
    with server.client() as client, server.admin() as admin:
        # Given an order just placed
        intent_id, position = place(server, shop, client)
        before = served(server)
        # When the storefront and the admin read it at once
        summary = client.get(f"/store/orders/by-payment-intent/{intent_id}")
        listed = admin.get("/admin/orders", params={"min_position": position, "limit": 100})
        detail = admin.get(f"/admin/orders/{order_id_for(intent_id)}")
    # Then they see it, answered by the standby
    assert summary.status_code == 200, summary.text
    assert listed.status_code == 200 and listed.headers["X-View-Caught-Up"] == "true"
    assert str(order_id_for(intent_id)) in listed.text
    assert detail.status_code == 200, detail.text
    assert served(server) >= before + 3


def test_storefront_and_admin_reads_come_from_the_standby(
    server: LiveServer, shop: Shop, cluster: Cluster
) -> None:
    with server.client() as client, server.admin() as admin:
        # Given the standby's replay paused
        on_standby(cluster, "SELECT pg_wal_replay_pause()")
        try:
            # When an order is placed and the primary's view has it
            intent_id, position = place(server, shop, client)
            order_id = str(order_id_for(intent_id))
            with psycopg.connect(cluster.primary_url, autocommit=True) as conn:
                wait_until(
                    lambda: conn.execute(
                        f"SELECT 1 FROM {VIEWS}.admin_orders WHERE order_id = %s",
                        (order_id,),
                    ).fetchone(),
                    10,
                    "the primary's view to have the order",
                )
            # Then a read without a position does not see it yet: it came from the standby
            listed = admin.get("/admin/orders", params={"limit": 100})
            assert listed.status_code == 200 and order_id not in listed.text
            page = client.get(f"/store/orders/by-payment-intent/{intent_id}")
            assert page.status_code == 503, page.text  # ViewBehind: the standby waits
        finally:
            on_standby(cluster, "SELECT pg_wal_replay_resume()")
        # and once the standby replays, the read that waits for the position sees it
        listed = admin.get("/admin/orders", params={"min_position": position, "limit": 100})
        assert listed.headers["X-View-Caught-Up"] == "true" and order_id in listed.text


def test_stopping_the_standby_sends_reads_to_the_primary_without_an_error(
    server: LiveServer, shop: Shop, cluster: Cluster
) -> None:
    standbys = server.container.standbys
    assert standbys is not None
    with server.client() as client, server.admin() as admin:
        intent_id, position = place(server, shop, client)
        cluster.stop_standby()
        try:
            # When the standby is gone (before or after the monitor noticed)
            listed = admin.get("/admin/orders", params={"min_position": position, "limit": 100})
            summary = client.get(f"/store/orders/by-payment-intent/{intent_id}")
            detail = admin.get(f"/admin/orders/{order_id_for(intent_id)}")
            # Then the primary answers
            assert listed.status_code == 200, listed.text
            assert listed.headers["X-View-Caught-Up"] == "true"
            assert summary.status_code == 200, summary.text
            assert detail.status_code == 200, detail.text
            wait_until(lambda: standbys.usable() is None, 5, "the monitor to leave it out")
            status = client.get("/health/status").json()
            assert status["standbys"][0]["reading"] is False
            metrics = admin.get("/metrics").text
            assert 'orderledger_standby_up{standby="127.0.0.1:' in metrics
        finally:
            cluster.start_standby()
        wait_until(lambda: standbys.usable() == 0, 15, "the standby back in use")
