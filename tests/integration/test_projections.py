"""Random shop histories: views built live in small batches equal the aggregates and a rebuild."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.inventory_level import InventoryLevel
from tests.integration.projection_checks import assert_views_agree_with
from tests.integration.projection_world import (
    Clock,
    Sale,
    Shop,
    fresh_database,
    open_shop,
    positions,
    release,
    reserve,
    rows_for,
    snapshot,
    stock,
)
from tests.unit.domain.builders import a_line

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


@pytest.fixture(scope="module")
def shop(database_url: str) -> Iterator[Shop]:
    with fresh_database(database_url) as url, open_shop(url) as opened:
        yield opened


LINE = st.tuples(st.integers(1, 5_000), st.integers(1, 5), st.sampled_from([0, 700, 2_000]))
ORDER = st.tuples(st.lists(LINE, min_size=1, max_size=3), st.booleans())
WHICH = st.integers(0, 7)
STEP = st.one_of(
    st.tuples(st.just("place"), ORDER),
    st.tuples(st.just("add_line"), WHICH, LINE),
    st.tuples(st.just("change_quantity"), WHICH, st.integers(0, 9), st.integers(0, 6)),
    st.tuples(st.just("schedule_capture"), WHICH, st.integers(0, 120)),
    st.tuples(st.just("fail_capture"), WHICH, st.booleans()),
    st.tuples(st.just("capture"), WHICH),
    st.tuples(st.just("refund"), WHICH, st.integers(1, 100)),
    st.tuples(st.just("cancel"), WHICH),
    st.tuples(st.just("reserve"), st.integers(0, 1), st.integers(1, 6)),
    st.tuples(st.just("release"), st.integers(0, 1), st.integers(1, 6)),
)


@dataclass
class History:
    """Interprets drawn steps; a step the current state refuses is skipped."""

    clock: Clock = field(default_factory=Clock)
    sales: list[Sale] = field(default_factory=list)
    levels: list[InventoryLevel] = field(default_factory=list)

    def place(self, spec: tuple[list[tuple[int, int, int]], bool]) -> list[Aggregate]:
        lines, shipping = spec
        sale = Sale.place(
            [
                a_line(f"line_{i}", unit_price=p, quantity=q, tax_rate_bp=t)
                for i, (p, q, t) in enumerate(lines, start=1)
            ],
            shipping=shipping,
            clock=self.clock,
        )
        self.sales.append(sale)
        return [sale.order, sale.payment]

    def apply(self, step: tuple[Any, ...]) -> list[Aggregate]:
        kind, *args = step
        if kind == "place":
            return self.place(args[0])
        if kind in ("reserve", "release"):
            level = self.levels[args[0]]
            change = reserve if kind == "reserve" else release
            return [level] if change(level, args[1], self.clock()) else []
        sale = self.sales[args[0] % len(self.sales)]
        actions: dict[str, Callable[..., bool]] = {
            "add_line": lambda line: sale.add_line(*line),
            "change_quantity": sale.change_quantity,
            "schedule_capture": sale.schedule_capture,
            "fail_capture": sale.fail_capture,
            "capture": sale.capture,
            "refund": lambda percent: sale.refund(percent / 100),
            "cancel": sale.cancel,
        }
        return [sale.order, sale.payment] if actions[kind](*args[1:]) else []


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=ORDER,
    steps=st.lists(STEP, max_size=20),
    stocked=st.tuples(st.integers(0, 8), st.integers(0, 8)),
)
def test_views_built_live_in_small_batches_equal_the_aggregates_and_a_rebuild(
    shop: Shop,
    first: tuple[list[tuple[int, int, int]], bool],
    steps: list[tuple[Any, ...]],
    stocked: tuple[int, int],
) -> None:
    live = shop.runtime(page_size=3)
    history = History()
    history.levels = [stock(stocked[0]), stock(stocked[1], allow_backorder=True)]
    shop.ledger.save_all(*history.levels, *history.place(first))
    live.catch_up()
    for step in steps:
        if changed := history.apply(step):
            shop.ledger.save_all(*changed)
            live.catch_up()

    assert set(positions(shop.pool).values()) == {shop.ledger.head}
    assert_views_agree_with(shop, history.sales, history.levels)
    rebuilder = shop.runtime()
    for name, projector in live.projectors.items():
        built_live = snapshot(shop.pool, projector)
        rebuilder.rebuild(name)
        assert snapshot(shop.pool, projector) == built_live, name


def test_the_storefront_shows_the_same_payment_status_as_the_admin_view(shop: Shop) -> None:
    live = shop.runtime()
    sale = Sale.place(clock=Clock())
    shop.ledger.save_all(sale.order, sale.payment)
    seen = []
    for change in (lambda: sale.add_line(500, 2, 2_000), sale.capture, lambda: sale.refund(0.3)):
        assert change()
        shop.ledger.save_all(sale.order, sale.payment)
        live.catch_up()
        [admin] = rows_for(shop.pool, "admin_orders", "order_id", [sale.order_id])
        [public] = rows_for(shop.pool, "storefront_orders", "order_id", [sale.order_id])
        seen.append((sale.payment.status, admin["payment_status"], public["payment_status"]))

    assert seen == [
        ("authorized", "authorized", "authorized"),
        ("captured", "captured", "captured"),
        ("partially_refunded", "partially_refunded", "partially_refunded"),
    ]
