"""Several aggregates read in one statement come out as the library rebuilds each."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.ledger import Ledger
from domain.inventory_level import InventoryLevel
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.database import event_store_env
from infra.stored_reader import stored_reader_for
from tests.integration.projection_world import Sale
from tests.unit.domain.builders import NOW

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


@pytest.fixture(scope="module")
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(env=event_store_env(database_url), stored_reader_for=stored_reader_for)
    assert ledger.stored_reader is not None
    try:
        yield ledger
    finally:
        ledger.close()


def a_level(ledger: Ledger, reservations: int) -> InventoryLevel:
    level = InventoryLevel.stock(
        item_id=f"v-{uuid4().hex[:6]}",
        location_id="berlin",
        stocked_quantity=10_000,
        allow_backorder=False,
        now=NOW,
    )
    ledger.save_all(level)
    for i in range(reservations):  # one save each: a snapshot every few versions
        level.reserve(1 + i % 3, order_id=f"o{i}", line_id="l", now=NOW)
        ledger.save_all(level)
    return level


def test_an_order_its_payment_and_a_snapshotted_level_come_out_as_loaded_one_by_one(
    ledger: Ledger,
) -> None:
    sale = Sale.place()
    sale.capture()
    ledger.save_all(sale.order, sale.payment)
    level = a_level(ledger, 260)  # snapshots, then events after the latest
    missing = uuid4()

    found = ledger.get_all(sale.order_id, sale.payment.id, level.id, missing, level.id)

    assert set(found) == {sale.order_id, sale.payment.id, level.id}
    for aggregate_id, aggregate in found.items():
        assert vars(aggregate) == vars(ledger.repository.get(aggregate_id))
    assert found[level.id].version == 261
    assert ledger.get_many(Order, sale.order_id, sale.payment.id) == {
        sale.order_id: found[sale.order_id]
    }
    assert isinstance(
        ledger.get_many(PaymentCollection, sale.payment.id)[sale.payment.id], PaymentCollection
    )
    assert ledger.get_all() == {}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(reservations=st.lists(st.integers(min_value=0, max_value=230), min_size=1, max_size=4))
def test_any_mix_of_levels_reads_as_the_library_rebuilds_each(
    ledger: Ledger, reservations: list[int]
) -> None:
    levels = [a_level(ledger, count) for count in reservations]

    found = ledger.get_all(*(level.id for level in levels))

    assert [found[level.id].version for level in levels] == [1 + n for n in reservations]
    for level in levels:
        assert vars(found[level.id]) == vars(ledger.repository.get(level.id))
