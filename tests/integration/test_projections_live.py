"""The live runner: it follows the log by NOTIFY, by polling when a NOTIFY is lost, and
keeps every order while a projection is rebuilt beside it."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg import sql

from infra.projection_registry import wait_for_position
from infra.projection_runtime import ProjectionRuntime
from infra.view_store import DATA
from tests.integration.projection_world import (
    PROJECTIONS,
    Clock,
    Sale,
    Shop,
    fresh_database,
    money_movements,
    open_shop,
    rows_for,
    snapshot,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]

SILENT_CHANNEL = "nobody_listens_here"


@pytest.fixture(scope="module")
def shop(database_url: str) -> Iterator[Shop]:
    with fresh_database(database_url) as url, open_shop(url) as opened:
        yield opened


@pytest.fixture
def runner_problems(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """What the runner logged at WARNING or above (it retries failed batches quietly)."""
    problems: list[logging.LogRecord] = []
    with caplog.at_level(logging.WARNING, logger="infra.projection_runtime"):
        yield problems
        problems.extend(r for r in caplog.records if r.name == "infra.projection_runtime")


@contextlib.contextmanager
def running(runtime: ProjectionRuntime, **kwargs: Any) -> Iterator[threading.Thread]:
    """``runtime.run`` in a thread, stopped (woken by a NOTIFY on its channel) on exit."""
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run, args=(stop,), kwargs=kwargs, daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        # The runner waits on its channel for up to a poll interval; wake it to stop now.
        channel = kwargs.get("channel") or runtime.ledger.recorder.channel_name  # type: ignore[attr-defined]
        with runtime.pool.connection() as conn:
            conn.execute("SELECT pg_notify(%s, '')", (channel,))
        thread.join(timeout=10)
        assert not thread.is_alive(), "the runner did not stop"


def test_a_view_catches_up_by_polling_when_no_notification_reaches_it(
    shop: Shop, runner_problems: list[logging.LogRecord]
) -> None:
    runtime = shop.runtime()
    with running(runtime, poll_seconds=0.2, channel=SILENT_CHANNEL):
        for _ in range(3):
            sale = Sale.place()
            position = shop.ledger.save_all(sale.order, sale.payment)
            assert position is not None

            assert wait_for_position(shop.pool, position, PROJECTIONS, timeout=5.0)
            assert rows_for(shop.pool, "admin_orders", "order_id", [sale.order_id])
    assert runner_problems == []


def test_a_notification_wakes_the_view_long_before_the_next_poll(
    shop: Shop, runner_problems: list[logging.LogRecord]
) -> None:
    runtime = shop.runtime()
    with running(runtime, poll_seconds=600):
        # Once caught up, only a NOTIFY can wake the runner within the next 10 minutes.
        assert wait_for_position(shop.pool, shop.ledger.head, PROJECTIONS, timeout=5.0)
        for _ in range(3):
            sale = Sale.place()
            position = shop.ledger.save_all(sale.order, sale.payment)
            assert position is not None
            started = time.monotonic()

            assert wait_for_position(shop.pool, position, PROJECTIONS, timeout=5.0)
            assert time.monotonic() - started < 5.0
            assert rows_for(shop.pool, "storefront_orders", "order_id", [sale.order_id])
    assert runner_problems == []


class Writer:
    """Saves orders in a thread, one per permit; permits come from the test (or the rebuild)."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.sales: list[Sale] = []
        self.permits = threading.Semaphore(0)
        self.saved = threading.Condition()
        self.stopping = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._write, daemon=True)

    def _write(self) -> None:
        clock = Clock()
        try:
            while not self.stopping.is_set():
                if not self.permits.acquire(timeout=0.05):
                    continue
                sale = Sale.place(clock=clock)
                self.shop.ledger.save_all(sale.order, sale.payment)
                if len(self.sales) % 2:
                    sale.capture()
                    sale.refund(0.5)
                    self.shop.ledger.save_all(sale.order, sale.payment)
                with self.saved:
                    self.sales.append(sale)
                    self.saved.notify_all()
        except BaseException as error:
            self.errors.append(error)

    def write(self, count: int, *, wait: bool = True) -> None:
        """Let the writer save ``count`` more orders (and wait until it has)."""
        with self.saved:
            target = len(self.sales) + count
        self.permits.release(count)
        if wait:
            with self.saved:
                assert self.saved.wait_for(lambda: len(self.sales) >= target, timeout=10)


def generations(runtime: ProjectionRuntime) -> dict[str, int]:
    return {s.name: s.generation for s in runtime.status()}


def physical_tables(shop: Shop) -> set[str]:
    with shop.pool.connection() as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (DATA,)
        ).fetchall()
    return {name for (name,) in rows}


def test_rebuilding_while_orders_keep_coming_keeps_every_order_exactly_once(
    shop: Shop, runner_problems: list[logging.LogRecord]
) -> None:
    live = shop.runtime()
    rebuilder = shop.runtime(page_size=7)  # a separate process, as the CLI is
    before = generations(live)
    writer = Writer(shop)
    writer.thread.start()
    try:
        with running(live, poll_seconds=0.05):
            writer.write(15)

            budget = [0]

            def keep_writing(position: int, head: int) -> None:
                # Pages the rebuild reads alternate with new orders (which the runner sees);
                # a few per rebuild, or the rebuild would chase the writer for ever.
                if budget[0] > 0:
                    budget[0] -= 1
                    writer.write(1)

            for name in PROJECTIONS:
                budget[0] = 4
                rebuilder.rebuild(name, progress=keep_writing)
                assert budget[0] == 0, "the rebuild ended before orders arrived during it"
            writer.write(10)
            writer.stopping.set()
            writer.thread.join(timeout=10)
            assert not writer.thread.is_alive()
            assert wait_for_position(shop.pool, shop.ledger.head, PROJECTIONS, timeout=10.0)
    finally:
        writer.stopping.set()
        writer.thread.join(timeout=10)

    assert writer.errors == []
    order_ids = [sale.order_id for sale in writer.sales]
    assert len(order_ids) == 15 + 4 * len(PROJECTIONS) + 10
    for view in ("admin_orders", "storefront_orders", "capture_schedule"):
        rows = rows_for(shop.pool, view, "order_id", order_ids)
        assert sorted(str(r["order_id"]) for r in rows) == sorted(map(str, order_ids)), view
    movements = rows_for(shop.pool, "order_transactions", "order_id", order_ids)
    assert len(movements) == money_movements(*writer.sales)
    [admin] = rows_for(shop.pool, "admin_orders", "order_id", [writer.sales[-1].order_id])
    assert admin["payment_status"] == writer.sales[-1].payment.status

    statuses = live.status()
    assert [(s.name, s.lag_events) for s in statuses] == [(name, 0) for name in sorted(PROJECTIONS)]
    assert generations(live) == {name: gen + 1 for name, gen in before.items()}
    old_tables = {
        table
        for table in physical_tables(shop)
        for name, gen in before.items()
        if table.startswith(f"{name}__") and table.endswith(f"__g{gen}")
    }
    assert old_tables == set()
    assert runner_problems == []

    # What the live runner and the rebuild built together is what one pass builds.
    for name, projector in rebuilder.projectors.items():
        built = snapshot(shop.pool, projector)
        rebuilder.rebuild(name)
        assert snapshot(shop.pool, projector) == built, name


def test_the_views_read_through_stable_names_never_break_during_a_switch(shop: Shop) -> None:
    rebuilder = shop.runtime()
    rebuilder.catch_up()
    failures: list[BaseException] = []
    reads = 0
    done = threading.Event()

    def read_while_switching() -> None:
        nonlocal reads
        query = sql.SQL("SELECT count(*) FROM views.admin_orders")
        while not done.is_set():
            try:
                with shop.pool.connection() as conn:
                    conn.execute(query).fetchone()
                reads += 1
            except BaseException as error:
                failures.append(error)
                return

    reader = threading.Thread(target=read_while_switching, daemon=True)
    reader.start()
    try:
        assert wait_until(lambda: reads > 0)
        for _ in range(5):
            rebuilder.rebuild("admin_orders")
    finally:
        done.set()
        reader.join(timeout=10)

    assert failures == []
    assert reads > 0
