"""``orderledger projections list | status | rebuild NAME | rebuild --all`` on a real database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from typer.testing import CliRunner, Result

from infra.cli import app
from infra.projection_runtime import ProjectionRuntime
from tests.integration.projection_world import (
    PROJECTIONS,
    Sale,
    Shop,
    fresh_database,
    open_shop,
    rows_for,
    snapshot,
)

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]

Orderledger = Callable[..., Result]


@pytest.fixture(scope="module")
def shop(database_url: str) -> Iterator[Shop]:
    with fresh_database(database_url) as url, open_shop(url) as opened:
        for _ in range(3):
            sale = Sale.place()
            sale.capture()
            opened.ledger.save_all(sale.order, sale.payment)
        yield opened


@pytest.fixture
def orderledger(shop: Shop) -> Orderledger:
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(
            app, ["projections", *args], env={"DATABASE_URL": shop.url, "REDIS_URL": None}
        )

    return run


def generations(runtime: ProjectionRuntime) -> dict[str, int]:
    return {s.name: s.generation for s in runtime.status()}


def test_list_names_every_projection(orderledger: Orderledger) -> None:
    result = orderledger("list")

    assert result.exit_code == 0, result.output
    assert result.stdout.split() == PROJECTIONS


def test_status_shows_each_projection_with_its_position_and_the_head(
    shop: Shop, orderledger: Orderledger
) -> None:
    runtime = shop.runtime()
    runtime.catch_up()
    head = shop.ledger.head

    result = orderledger("status")

    assert result.exit_code == 0, result.output
    rows = [line.split("│")[1:-1] for line in result.stdout.splitlines() if "│" in line]
    shown = {cells[0].strip(): [c.strip() for c in cells[1:5]] for cells in rows}
    assert shown.keys() == set(PROJECTIONS)
    for name, (generation, position, shown_head, lag) in shown.items():
        assert (int(position), int(shown_head), int(lag)) == (head, head, 0), name
        assert int(generation) == generations(runtime)[name]


def test_rebuild_one_projection_switches_it_to_a_new_generation_with_the_same_rows(
    shop: Shop, orderledger: Orderledger
) -> None:
    runtime = shop.runtime()
    runtime.catch_up()
    before = generations(runtime)
    projector = runtime.projectors["admin_orders"]
    rows = snapshot(shop.pool, projector)

    result = orderledger("rebuild", "admin_orders")

    assert result.exit_code == 0, result.output
    after = generations(runtime)
    assert after == {**before, "admin_orders": before["admin_orders"] + 1}
    assert snapshot(shop.pool, projector) == rows
    assert all(s.lag_events == 0 for s in runtime.status())


def test_rebuild_all_switches_every_projection_and_loses_no_order(
    shop: Shop, orderledger: Orderledger
) -> None:
    runtime = shop.runtime()
    sale = Sale.place()
    shop.ledger.save_all(sale.order, sale.payment)  # not yet projected: the rebuild does it
    before = generations(runtime)

    result = orderledger("rebuild", "--all")

    assert result.exit_code == 0, result.output
    assert generations(runtime) == {name: gen + 1 for name, gen in before.items()}
    assert rows_for(shop.pool, "admin_orders", "order_id", [sale.order_id])
    assert all(s.lag_events == 0 for s in runtime.status())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rebuild", "no_such_view"), "no projection 'no_such_view'"),
        (("rebuild",), "name one projection or pass --all"),
        (("rebuild", "admin_orders", "--all"), "name one projection or pass --all"),
    ],
)
def test_rebuild_refuses_a_bad_name_with_exit_code_2_and_changes_nothing(
    shop: Shop, orderledger: Orderledger, args: tuple[str, ...], message: str
) -> None:
    runtime = shop.runtime()
    before = generations(runtime)

    result = orderledger(*args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert generations(runtime) == before
