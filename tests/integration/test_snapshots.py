"""Busy inventory levels are snapshotted: loading one stays cheap and equals the full replay."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest

from commands.ledger import Ledger
from domain.inventory_level import InventoryLevel
from infra.database import event_store_env
from tests.unit.domain.builders import NOW

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(env=event_store_env(database_url))
    try:
        yield ledger
    finally:
        ledger.close()


def test_a_level_with_hundreds_of_reservations_loads_from_a_snapshot_equal_to_its_replay(
    ledger: Ledger,
) -> None:
    level = InventoryLevel.stock(
        item_id=f"v-{uuid4().hex[:6]}",
        location_id="berlin",
        # Never short, so a running process manager (other tests' servers share this
        # database) has nothing to record on it; the test records shortfalls itself.
        stocked_quantity=1_000,
        allow_backorder=True,
        now=NOW,
    )
    ledger.save_all(level)
    for i in range(230):
        level = ledger.repository.get(level.id)
        level.reserve(1, order_id=f"o{i}", line_id="l", now=NOW)
        if i % 50 == 0:
            level.record_backorder(
                shortfall=1, order_id=f"o{i}", reservation_version=level.version, now=NOW
            )
        ledger.save_all(level)
    assert ledger.snapshots is not None
    snapshots = list(ledger.snapshots.get(level.id))
    interval = Ledger.snapshotting_intervals[InventoryLevel]
    assert 2 <= interval <= 100
    assert [s.originator_version for s in snapshots] == list(
        range(interval, level.version + 1, interval)
    )
    loaded = ledger.repository.get(level.id)
    assert vars(loaded) == vars(level)
    assert loaded.backordered_reservations and isinstance(loaded.backordered_reservations, set)
    # A past version (the process manager reads them) comes out right across a snapshot.
    earlier = ledger.repository.get(level.id, version=150)
    assert earlier.version == 150
    assert earlier.reserved == sum(1 for _ in range(150)) - 1 - sum(
        1 for v in level.backordered_reservations if v < 150
    )
