"""Each event changes a view exactly once: racing workers, crashed batches, gaps in the log."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from domain.inventory_level import InventoryLevel
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.projection_runtime import ProjectionRuntime
from infra.view_store import VIEWS
from tests.integration.projection_checks import assert_views_agree_with, busy_day, ids
from tests.integration.projection_world import (
    PROJECTIONS,
    Sale,
    Shop,
    fresh_database,
    money_movements,
    open_shop,
    positions,
    rows_for,
    snapshot,
)
from tests.unit.domain.builders import a_line, later, place_order

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


@pytest.fixture(scope="module")
def shop(database_url: str) -> Iterator[Shop]:
    with fresh_database(database_url) as url, open_shop(url) as opened:
        yield opened


def test_two_workers_advancing_at_once_process_each_notification_exactly_once(
    shop: Shop,
) -> None:
    first, second = shop.runtime(page_size=4), shop.runtime(page_size=4)
    first.catch_up()
    start = shop.ledger.head
    sales, levels = busy_day(shop)
    pending = shop.ledger.head - start
    barrier = threading.Barrier(2, timeout=10)
    consumed: list[int] = []
    errors: list[BaseException] = []

    def work(runtime: ProjectionRuntime) -> None:
        try:
            barrier.wait()
            consumed.append(runtime.catch_up())
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(rt,)) for rt in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert len(consumed) == 2
    # Between them, every projection read every new notification once.
    assert sum(consumed) == pending * len(PROJECTIONS)
    assert_views_agree_with(shop, sales, levels)
    one_pass = shop.runtime()
    for name, projector in one_pass.projectors.items():
        concurrent = snapshot(shop.pool, projector)
        one_pass.rebuild(name)
        assert snapshot(shop.pool, projector) == concurrent, name


class Crash(Exception):
    pass


def test_a_batch_that_crashes_after_writing_its_rows_is_rolled_back_and_done_again(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = shop.runtime(page_size=5)
    runtime.catch_up()
    sales, levels = busy_day(shop)
    crashes: set[str] = set()
    for name, projector in runtime.projectors.items():
        monkeypatch.setattr(
            projector, "project", crash_once_after(projector.project, name, crashes)
        )
    # The first page (two levels stocked, an order placed) concerns these projections.
    first_page = {InventoryLevel.Created, Order.Placed, PaymentCollection.Created}
    concerned = {n for n, p in runtime.projectors.items() if first_page & set(p.topics)}
    assert concerned >= {"storefront_orders", "admin_orders", "order_transactions"}
    assert concerned >= {"inventory_levels", "capture_schedule"}

    before = positions(shop.pool)
    for name in concerned:
        with pytest.raises(Crash):
            runtime.advance(name)
    assert crashes == concerned
    assert positions(shop.pool) == before
    assert rows_for(shop.pool, "order_transactions", "order_id", ids(sales)) == []
    assert rows_for(shop.pool, "inventory_levels", "level_id", ids(levels)) == []

    runtime.catch_up()

    assert set(positions(shop.pool).values()) == {shop.ledger.head}
    assert_views_agree_with(shop, sales, levels)


def test_a_shared_batch_that_crashes_in_one_view_commits_nothing_for_any_view(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = shop.runtime(page_size=50)
    runtime.catch_up()
    sales, levels = busy_day(shop)
    crashes: set[str] = set()
    # The last view in lock order crashes after every other view wrote its rows.
    assert sorted(runtime.projectors)[-1] == "storefront_orders"
    projector = runtime.projectors["storefront_orders"]
    monkeypatch.setattr(
        projector, "project", crash_once_after(projector.project, "storefront_orders", crashes)
    )
    before = positions(shop.pool)

    with pytest.raises(Crash):
        runtime.advance_all()

    assert crashes == {"storefront_orders"}
    assert positions(shop.pool) == before
    assert rows_for(shop.pool, "order_transactions", "order_id", ids(sales)) == []
    assert rows_for(shop.pool, "inventory_levels", "level_id", ids(levels)) == []

    runtime.catch_up()

    assert set(positions(shop.pool).values()) == {shop.ledger.head}
    assert_views_agree_with(shop, sales, levels)


def crash_once_after(
    project: Callable[..., None], name: str, crashed: set[str]
) -> Callable[..., None]:
    def crashing(*args: Any) -> None:
        project(*args)  # the rows are written in the batch's transaction…
        if name not in crashed:
            crashed.add(name)
            raise Crash(f"{name} crashed after writing its rows")  # …then the worker dies

    return crashing


class TrackingWriteFails:
    """A pool whose connections fail, on the server, the next write of a tracking position."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.failures = 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        with self._pool.connection() as conn:
            yield _FailingConnection(conn, self)


class _FailingConnection:
    def __init__(self, conn: psycopg.Connection[Any], owner: TrackingWriteFails) -> None:
        self._conn = conn
        self._owner = owner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def execute(self, query: Any, params: Any = None) -> Any:
        if (
            isinstance(query, str)
            and query.startswith(f"UPDATE {VIEWS}.tracking")
            and self._owner.failures
        ):
            self._owner.failures -= 1
            return self._conn.execute("SELECT 1 / 0")
        return self._conn.execute(query, params)


def test_a_batch_whose_tracking_write_fails_loses_its_view_rows_too(shop: Shop) -> None:
    runtime = shop.runtime(page_size=1_000)
    runtime.catch_up()
    sales, levels = busy_day(shop, orders=3)
    before = positions(shop.pool)["order_transactions"]
    runtime.pool = TrackingWriteFails(shop.pool)  # type: ignore[assignment]

    with pytest.raises(psycopg.errors.DivisionByZero):
        runtime.advance("order_transactions")
    assert positions(shop.pool)["order_transactions"] == before
    assert rows_for(shop.pool, "order_transactions", "order_id", ids(sales)) == []

    runtime.catch_up()

    assert set(positions(shop.pool).values()) == {shop.ledger.head}
    assert len(rows_for(shop.pool, "order_transactions", "order_id", ids(sales))) == (
        money_movements(*sales)
    )
    assert_views_agree_with(shop, sales, levels)


# --- gaps in the notification log ----------------------------------------------------------


def burn_notification_ids(shop: Shop, count: int) -> None:
    recorder: Any = shop.ledger.recorder
    table = f"{recorder.datastore.schema}.{recorder.events_table_name}"
    with shop.pool.connection() as conn:
        for _ in range(count):
            conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'notification_id'))", (table,))


def test_every_event_after_a_gap_in_notification_ids_reaches_the_views(shop: Shop) -> None:
    runtime = shop.runtime(page_size=1)
    runtime.catch_up()
    before = Sale.place()
    last_before_gap = shop.ledger.save_all(before.order, before.payment)
    assert last_before_gap is not None
    # A save that fails takes notification ids with it: the new sale's events are
    # numbered before the duplicate order conflicts, then all of it rolls back.
    lost = Sale.place()
    duplicate = place_order([a_line()], payment_intent_id=before.order.payment_intent_id)
    with pytest.raises(IntegrityError):
        shop.ledger.save_all(lost.order, lost.payment, duplicate)
    burn_notification_ids(shop, 3)
    after = Sale.place()
    after.capture()
    last_after_gap = shop.ledger.save_all(after.order, after.payment)
    assert last_after_gap is not None
    events_after = len(after.payment.transactions) + 3  # Placed, Created, Captured + movements
    assert last_after_gap - last_before_gap > events_after  # there is a gap

    runtime.catch_up()

    assert set(positions(shop.pool).values()) == {last_after_gap}
    assert_views_agree_with(shop, [before, after], [])
    assert rows_for(shop.pool, "admin_orders", "order_id", [lost.order_id]) == []


def test_a_gap_at_the_head_of_the_log_does_not_hold_back_later_events(shop: Shop) -> None:
    runtime = shop.runtime(page_size=2)
    runtime.catch_up()
    burn_notification_ids(shop, 5)
    assert runtime.catch_up() == 0
    sale = Sale.place()
    sale.schedule_capture(30)
    position = shop.ledger.save_all(sale.order, sale.payment)

    runtime.catch_up()

    assert set(positions(shop.pool).values()) == {position}
    assert_views_agree_with(shop, [sale], [])
    [due] = rows_for(shop.pool, "capture_schedule", "order_id", [sale.order_id])
    assert (due["status"], due["due_at"]) == ("scheduled", later(hours=1, minutes=30))
