"""The console's pages: statements per page, and page latency beside the JSON API.

    python -m bench.console [--orders 5000] [--requests 200]

In a fresh database ``orderledger_bench_console``, ``bench.shop.ShopGenerator`` writes
``--orders`` orders (captures, refunds, cancellations, backorders) and every view is
caught up. Then:

* **statements per page**: each page's read (``infra.console.views.ConsoleViews``) runs
  over a pool that counts the statements sent; the claim is one per page. The order page
  also replays the order from the event store (two reads: the order's events and its
  payment collection's), counted apart.
* **latency**: the real app (uvicorn on 127.0.0.1, no worker) signed in with a console
  session; each page is fetched ``--requests`` times, one after the other (p50 / p95).
  Beside it, what the JSON API needs for the same information (the order page = the
  order, its transactions and its history: three requests), and ``GET /health`` (the
  middleware floor, no database).
"""

import argparse
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import httpx
import uvicorn
from psycopg import Cursor, sql

from bench.common import bench_database, console, figure, machine, percentile, phase, write_results
from bench.report import print_table
from bench.shop import ShopGenerator
from infra.app import create_app
from infra.console.views import ConsoleViews, OrderFilter
from infra.container import build_container
from infra.settings import Settings
from infra.stripe_emulator import free_port

NAME = "console"


class CountingPool:
    """The pool, with every statement its connections send counted (one round trip each)."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.statements = 0

    @contextmanager
    def connection(self, **kwargs: Any) -> Iterator[Any]:
        counter = self

        class Counting(Cursor[Any]):
            def execute(self, *args: Any, **kw: Any) -> Any:
                counter.statements += 1
                return super().execute(*args, **kw)

        with self._pool.connection(**kwargs) as conn:
            previous = conn.cursor_factory
            conn.cursor_factory = Counting
            try:
                yield conn
            finally:
                conn.cursor_factory = previous


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.console", description=__doc__)
    parser.add_argument("--orders", type=int, default=5_000, help="orders in the store (5000)")
    parser.add_argument("--requests", type=int, default=200, help="requests per page (200)")
    return parser.parse_args(argv)


def _timed(get: Callable[[], None], requests: int) -> list[float]:
    for _ in range(10):  # warm-up
        get()
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        get()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(argv: list[str] | None = None) -> None:
    args = _args(argv)
    host = machine()
    with bench_database(NAME) as url:
        settings = Settings(database_url=url, redis_url=None, stripe_api_key="sk_test_bench")
        container = build_container(settings)
        try:
            with phase(f"writing {args.orders:,} orders"):
                ShopGenerator(container.ledger).generate(args.orders)
            with phase("catching every view up"):
                container.projections.catch_up()
            figures = _statements(container) + _latency(container, args.requests)
        finally:
            container.close()
    print_table(figures, title=f"console pages over {args.orders:,} orders")
    write_results(NAME, host, figures, orders=args.orders, requests=args.requests)


def _views(container: Any, pool: Any) -> ConsoleViews:
    recorder = container.ledger.recorder
    return ConsoleViews(pool, sql.Identifier(recorder.datastore.schema, recorder.events_table_name))


def _an_order(container: Any) -> str:
    rows, _ = _views(container, container.pool).orders(OrderFilter(status="captured"))
    return str(rows[0]["order_id"])


def _statements(container: Any) -> list[dict[str, Any]]:
    order_id = _an_order(container)
    reads: dict[str, Callable[[ConsoleViews], object]] = {
        "overview": lambda v: v.overview(),
        "orders (search by e-mail, page 2)": lambda v: v.orders(
            OrderFilter(search="customer", offset=25)
        ),
        "order detail": lambda v: v.order(UUID(order_id)),
        "inventory": lambda v: v.inventory(),
        "reviews": lambda v: v.reviews("pending"),
        "views and audit": lambda v: v.projections(),
    }
    figures = []
    for page, read in reads.items():
        counting = CountingPool(container.pool)
        read(_views(container, counting))
        figures.append(
            figure(
                NAME,
                f"statements: {page}",
                [counting.statements],
                "statements",
                target="1",
                met=counting.statements == 1,
            )
        )
    return figures


@contextmanager
def _serving(container: Any) -> Iterator[str]:
    app = create_app(container_factory=lambda: container)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _latency(container: Any, requests: int) -> list[dict[str, Any]]:
    _, key = container.admin_keys.create("bench-console")
    order_id = _an_order(container)
    figures = []
    with _serving(container) as url, httpx.Client(base_url=url, timeout=30) as web:
        form = web.get("/console/sign-in").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        web.post("/console/sign-in", data={"csrf": csrf.group(1), "key": key})
        api = {"Authorization": f"Bearer {key}"}

        def fetch(*paths: str, headers: dict[str, str] | None = None) -> Callable[[], None]:
            def get() -> None:
                for path in paths:
                    answer = web.get(path, headers=headers)
                    assert answer.status_code == 200, (path, answer.status_code)

            return get

        pages = {
            "overview": (fetch("/console"), None),
            "orders": (
                fetch("/console/orders?status=captured&offset=25"),
                fetch("/admin/orders?status=captured&limit=25&offset=25", headers=api),
            ),
            "orders, search by e-mail": (fetch("/console/orders?q=customer42"), None),
            "order detail": (
                fetch(f"/console/orders/{order_id}"),
                fetch(
                    f"/admin/orders/{order_id}",
                    f"/admin/orders/{order_id}/transactions",
                    f"/admin/orders/{order_id}/history",
                    headers=api,
                ),
            ),
            "inventory": (
                fetch("/console/inventory"),
                fetch("/admin/inventory-levels", headers=api),
            ),
            "reviews": (fetch("/console/reviews"), None),
            "views and audit": (fetch("/console/projections"), None),
        }
        with phase("timing GET /health"):
            floor = _timed(fetch("/health"), requests)
        for page, (console_get, json_get) in pages.items():
            with phase(f"timing {page}"):
                samples = _timed(console_get, requests)
                baseline = _timed(json_get, requests) if json_get else floor
            for q, label in ((0.5, "p50"), (0.95, "p95")):
                figures.append(
                    figure(
                        NAME,
                        f"{label} {page} page",
                        [percentile(samples, q)],
                        "ms",
                        baseline="JSON API, same facts" if json_get else "GET /health",
                        baseline_runs=[percentile(baseline, q)],
                    )
                )
    console.log("done")
    return figures


if __name__ == "__main__":
    main()
