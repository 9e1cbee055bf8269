"""A mixed workload with a worker restart in the middle; afterwards every view equals its rebuild."""

from __future__ import annotations

import importlib.util
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
import pytest
from psycopg import sql
from typer.testing import CliRunner

from domain.ids import inventory_level_id_for
from domain.inventory_level import InventoryLevel
from domain.order import Order
from infra.stripe_emulator import RunningEmulator
from infra.view_store import VIEWS
from infra.worker import Worker
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import LiveServer, Shop, fresh_database, open_shop
from tests.faults.probes import api_only_server, payment_of, settled, wait_until

pytestmark = pytest.mark.slow

GRACE_SECONDS = 3
SOAK_SECONDS = 16.0
BUYERS = 3
QUANTITY = 3


@dataclass
class Load:
    orders: list[UUID] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expect(self, what: str, answer: httpx.Response, allowed: set[int]) -> bool:
        with self.lock:
            key = f"{what} {answer.status_code}"
            self.counts[key] = self.counts.get(key, 0) + 1
            if answer.status_code not in allowed:
                self.unexpected.append(f"{what}: {answer.status_code} {answer.text[:300]}")
        return answer.is_success


@pytest.fixture(scope="module")
def soak_server(
    database_url: str, faults_redis_url: str, emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with (
        fresh_database(database_url) as url,
        api_only_server(
            url,
            faults_redis_url,
            emulator,
            capture_grace_seconds=GRACE_SECONDS,
            capture_sweep_seconds=0.5,
        ) as server,
    ):
        yield server


def buyer(server: LiveServer, shop: Shop, load: Load, until: float, seed: int) -> None:
    chance = random.Random(seed)
    ledger = server.container.ledger
    turn = 0
    with server.client() as client, server.admin() as admin:
        while time.monotonic() < until:
            turn += 1
            cart, _ = authorized_cart(server, client, shop, QUANTITY)
            done = client.post(f"/store/carts/{cart['id']}/complete")
            if not load.expect("complete", done, {200}):
                continue
            order_id = UUID(done.json()["order_id"])
            with load.lock:
                load.orders.append(order_id)
            if turn % 5 != 0:
                order: Order = ledger.repository.get(order_id)
                line_id = next(iter(order.lines))
                answer = admin.post(
                    f"/admin/orders/{order_id}/line-items/{line_id}",
                    json={"quantity": chance.randint(1, QUANTITY - 1)},
                )
                # 409: the grace period ended or the capture came first.
                load.expect("lower quantity", answer, {200, 409})
            if turn % 6 == 1:
                load.expect("cancel", admin.post(f"/admin/orders/{order_id}/cancel"), {200, 409})
            elif turn % 6 == 4:
                load.expect(
                    "capture now", admin.post(f"/admin/orders/{order_id}/capture"), {200, 409}
                )


def refunder(server: LiveServer, load: Load, until: float, seed: int) -> None:
    chance = random.Random(seed)
    with server.admin() as admin:
        while time.monotonic() < until:
            with load.lock:
                orders = list(load.orders)
            captured = [o for o in orders if payment_of(server, o).is_captured]
            if not captured:
                threading.Event().wait(0.1)
                continue
            order_id = chance.choice(captured)
            answer = admin.post(
                f"/admin/orders/{order_id}/refunds", json={"amount": 300, "reason": "soak"}
            )
            # 409: refunds would exceed the captured amount.
            load.expect("refund", answer, {200, 409})


def reader(server: LiveServer, shop: Shop, load: Load, until: float, seed: int) -> None:
    chance = random.Random(seed)
    with server.admin() as admin, server.client() as client:
        while time.monotonic() < until:
            load.expect("list orders", admin.get("/admin/orders?limit=50"), {200})
            load.expect(
                "inventory",
                admin.get(f"/admin/inventory-levels?variant_id={shop.variant}"),
                {200},
            )
            with load.lock:
                orders = list(load.orders)
            if orders:
                order_id = chance.choice(orders)
                # 404: the view has not caught up with a brand new order yet.
                load.expect("order", admin.get(f"/admin/orders/{order_id}"), {200, 404})
                load.expect(
                    "transactions", admin.get(f"/admin/orders/{order_id}/transactions"), {200}
                )
            load.expect("health", client.get("/health"), {200})
            threading.Event().wait(0.05)


def guarded(target: Any, load: Load, *args: Any) -> threading.Thread:
    """A workload thread whose crash is reported, not lost."""

    def run() -> None:
        try:
            target(*args)
        except Exception as error:
            with load.lock:
                load.unexpected.append(f"{target.__name__} crashed: {error!r}")

    return threading.Thread(target=run, daemon=True)


def view_rows(server: LiveServer, name: str) -> dict[str, list[str]]:
    projector = server.container.projections.projectors[name]
    rows = {}
    with server.container.pool.connection() as conn:
        for table in projector.tables:
            stable = table.name if table is projector.tables[0] else f"{name}__{table.name}"
            fetched = conn.execute(
                sql.SQL("SELECT * FROM {}").format(sql.Identifier(VIEWS, stable))
            ).fetchall()
            rows[stable] = sorted(repr(row) for row in fetched)
    return rows


def test_a_mixed_workload_with_a_worker_restart_leaves_views_equal_to_their_rebuilds(
    soak_server: LiveServer,
) -> None:
    server = soak_server
    container = server.container
    shop = open_shop(server, stock=100_000)
    load = Load()
    worker = Worker(container)
    worker.start()
    try:
        started = time.monotonic()
        until = started + SOAK_SECONDS
        threads = [guarded(buyer, load, server, shop, load, until, i) for i in range(BUYERS)]
        threads.append(guarded(refunder, load, server, load, until, 100))
        threads.append(guarded(reader, load, server, shop, load, until, 200))
        for thread in threads:
            thread.start()
        wait_until(lambda: time.monotonic() > started + SOAK_SECONDS / 2, SOAK_SECONDS)
        worker.stop()  # the capture or batch in flight finishes
        worker = Worker(container)
        worker.start()
        for thread in threads:
            thread.join(timeout=SOAK_SECONDS + 60)
        assert not any(t.is_alive() for t in threads), "a workload thread hung"
        assert not load.unexpected, load.unexpected[:10]
        assert len(load.orders) >= 10, load.counts
        for done in ("lower quantity 200", "refund 200", "cancel 200"):
            assert load.counts.get(done, 0) > 0, (done, load.counts)

        # Every order ends captured or canceled, by the restarted worker if need be.
        def finished() -> bool:
            return all(
                payment_of(server, o).is_captured or payment_of(server, o).voided
                for o in load.orders
            )

        wait_until(finished, GRACE_SECONDS + 20, "every order captured or canceled")
        settled(server)
    finally:
        worker.stop()

    ledger = container.ledger
    level: InventoryLevel = ledger.repository.get(inventory_level_id_for(shop.variant, shop.berlin))
    held = 0
    for order_id in load.orders:
        order: Order = ledger.repository.get(order_id)
        assert isinstance(order, Order)
        payment = payment_of(server, order_id)
        if order.status == "canceled":
            assert payment.voided and not payment.is_captured
            continue
        assert order.status == "captured", order.status
        assert payment.captured == order.total
        held += sum(line.quantity for line in order.lines.values())
    assert level.reserved == held
    assert level.available >= 0

    for name in container.projections.projectors:
        before = view_rows(server, name)
        container.projections.rebuild(name)
        assert view_rows(server, name) == before, name

    if importlib.util.find_spec("queries.audit.verify") is not None:
        from infra.cli import app

        result = CliRunner().invoke(
            app, ["audit", "verify"], env={"DATABASE_URL": container.database_url}
        )
        assert result.exit_code == 0, result.output
        assert "no violations" in result.output, result.output
