"""The process manager decides a page of the log at once, and nothing twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from commands.ledger import Ledger
from commands.process_manager import FOLLOWER, ProcessManager
from domain.inventory_level import InventoryLevel
from domain.payment_collection import PaymentCollection
from infra.container import Container, build_container
from infra.settings import Settings
from tests.integration.projection_world import Sale, fresh_database, stock
from tests.unit.domain.builders import NOW, later

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]

GRACE = timedelta(seconds=90)


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    with fresh_database(database_url) as url:
        settings = Settings(database_url=url, redis_url=None, capture_grace_seconds=90)
        assert settings.redis_url is None
        built = build_container(settings)
        try:
            yield built
        finally:
            built.close()


def events_of(ledger: Ledger, aggregate_id: UUID, kind: type) -> list[Any]:
    return [e for e in ledger.repository.event_store.get(aggregate_id) if isinstance(e, kind)]


def a_busy_page(ledger: Ledger) -> tuple[list[Sale], InventoryLevel]:
    """Five authorized sales and a backorder-enabled level that three reservations take
    below zero, one of them twice in a row — all in the same page of the log."""
    sales = [Sale.place() for _ in range(5)]
    for sale in sales:
        ledger.save_all(sale.order, sale.payment)
    level = stock(2, allow_backorder=True)
    ledger.save_all(level)
    for quantity in (1, 2, 3, 1):  # available: 1, -1 (short 1), -4 (short 3), -5 (short 1)
        level.reserve(quantity, order_id=str(sales[0].order_id), line_id="l", now=NOW)
        ledger.save_all(level)
    return sales, level


def test_a_page_is_decided_in_one_go_each_decision_once(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = container.ledger
    sales, level = a_busy_page(ledger)
    saves: list[int] = []
    save_tracked = ledger.save_tracked

    def counted(*aggregates: Any, follower: str, position: int) -> Any:
        saves.append(len(aggregates))
        return save_tracked(*aggregates, follower=follower, position=position)

    monkeypatch.setattr(ledger, "save_tracked", counted)

    consumed = ProcessManager(container.services).catch_up()

    assert consumed == ledger.head  # the page, then the page of its own decisions
    for sale in sales:
        [scheduled] = events_of(ledger, sale.payment.id, PaymentCollection.CaptureScheduled)
        assert scheduled.due_at == NOW + GRACE  # authorized at NOW, 90 s of grace
    shortfalls = [e.shortfall for e in events_of(ledger, level.id, InventoryLevel.Backordered)]
    assert shortfalls == [1, 3, 1]
    assert ledger.followed_up_to(FOLLOWER) == ledger.head
    # One transaction for the page's six aggregates (the level once, though three of the
    # page's events concern it), then one that only moves the position past them.
    assert saves == [len(sales) + 1, 0]


def test_reading_the_whole_log_again_decides_nothing_again(container: Container) -> None:
    ledger = container.ledger
    sales, level = a_busy_page(ledger)
    ProcessManager(container.services).catch_up()
    versions = {
        a.id: ledger.repository.get(a.id).version for a in [level, *(s.payment for s in sales)]
    }
    head = ledger.head

    # Another process manager with no position of its own reads every event again.
    again = ProcessManager(container.services, follower="process_manager_again")
    assert again.catch_up() == head

    assert again.follower != FOLLOWER
    assert ledger.head == head
    assert {i: ledger.repository.get(i).version for i in versions} == versions


def test_a_command_changing_an_aggregate_mid_page_makes_the_page_decide_one_at_a_time(
    container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = container.ledger
    sales, level = a_busy_page(ledger)
    contested = sales[2].payment.id
    save_tracked = ledger.save_tracked
    conflicts: list[IntegrityError] = []

    def a_command_gets_there_first(*aggregates: Any, follower: str, position: int) -> Any:
        if not conflicts:
            # The capture command records a failed attempt on one of the page's payments
            # after the process manager loaded it and before it saves.
            payment = ledger.repository.get(contested)
            payment.record_capture_failure("card_declined", final=False, now=later(minutes=1))
            ledger.save_all(payment)
            try:
                return save_tracked(*aggregates, follower=follower, position=position)
            except IntegrityError as error:
                conflicts.append(error)
                raise
        return save_tracked(*aggregates, follower=follower, position=position)

    monkeypatch.setattr(ledger, "save_tracked", a_command_gets_there_first)

    ProcessManager(container.services).catch_up()

    assert len(conflicts) == 1  # the page's save lost, nothing of it was written
    assert len(events_of(ledger, contested, PaymentCollection.CaptureFailed)) == 1
    for sale in sales:
        assert len(events_of(ledger, sale.payment.id, PaymentCollection.CaptureScheduled)) == 1
    shortfalls = [e.shortfall for e in events_of(ledger, level.id, InventoryLevel.Backordered)]
    assert shortfalls == [1, 3, 1]
    assert ledger.followed_up_to(FOLLOWER) == ledger.head
