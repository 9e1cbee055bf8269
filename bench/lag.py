"""Live lag: from an order's commit to its row in the storefront view, at a steady 100 orders/s.

    python -m bench.lag [--rate 100] [--seconds 8] [--repeats 3] [--store-orders 1000]

In a fresh database ``orderledger_bench_lag`` (a store written by
``bench.shop.ShopGenerator``, every view caught up), each run has two phases, in
alternating order, each with a follower of its own in a child process:

* ours: ``ProjectionRuntime(ledger, pool).run(stop)`` — every view, woken by the
  event store's NOTIFY (and polling each second);
* baseline: the eventsourcing library's ``ProjectionRunner`` with the same
  storefront-orders fold, one event per transaction (``bench.stock``).

Once the follower has caught up, the writer places ``--rate`` orders per second for
``--seconds`` (one ``ledger.save_all`` each: order, payment collection, completed
cart, 2–3 inventory levels, decided as ``commands.checkout`` decides them), and a
reader thread polls the follower's tracking position every 2 ms. An order is
visible when the position reaches its events (views commit rows and position
together); its lag is the time it was first seen minus the time ``save_all``
returned. Figures: the median over runs of each phase's p50 and p99. Target: p99
≤ 50 ms.
"""

import argparse
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import psycopg

from bench.checkout_fixture import (
    bare_levels,
    catalog_for,
    memory_catalog,
    open_carts,
    place_in_memory,
)
from bench.common import (
    ROOT,
    bench_database,
    console,
    figure,
    machine,
    median,
    percentile,
    phase,
    write_results,
)
from bench.report import print_table
from bench.servers import die_with_parent
from bench.shop import ShopGenerator
from bench.stock import NAME as STOCK_NAME
from bench.stock import StockStorefrontOrdersProjection, StockStorefrontOrdersView
from commands.catalog import CatalogSlice
from commands.ledger import Ledger
from infra.container import utc_now
from infra.database import conninfo, event_store_env
from infra.pg import open_pool
from infra.projection_runtime import ProjectionRuntime
from infra.view_store import VIEWS
from projections.catalogue import all_projectors

NAME = "lag"
TARGET_MS = 50.0
POLL_SECONDS = 0.002
SETTLE_SECONDS = 15.0  # wait this long after the last write for the follower to show it
POSITION = {
    "runtime": f"SELECT t.position FROM {VIEWS}.tracking t JOIN {VIEWS}.registry r "
    "ON t.projection = r.projection AND t.generation = r.generation "
    "WHERE r.projection = 'storefront_orders'",
    "stock": f"SELECT max(notification_id) FROM {STOCK_NAME}_tracking "
    f"WHERE application_name = '{Ledger.name}'",
}


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.lag", description=__doc__)
    parser.add_argument("--rate", type=float, default=100.0, help="orders per second (100)")
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of writing (8)")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the median counts (3)")
    parser.add_argument("--store-orders", type=int, default=1_000, help="orders beforehand (1000)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--child", choices=sorted(POSITION), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- the followers, each in its own process -----------------------------------------------


def _follow(mode: str, url: str) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if mode == "runtime":
        ledger = Ledger(env=event_store_env(url))
        pool = open_pool(url, min_size=1, max_size=4)
        try:
            ProjectionRuntime(ledger, pool).run(stop)
        finally:
            pool.close()
            ledger.close()
        return
    from eventsourcing.projection import ProjectionRunner

    with ProjectionRunner(
        application_class=Ledger,
        projection_class=StockStorefrontOrdersProjection,
        view_class=StockStorefrontOrdersView,
        env=event_store_env(url),
    ) as runner:
        while not stop.wait(0.2):
            if runner.is_interrupted.is_set():
                runner.run_forever(timeout=0)  # re-raises the runner's error
                raise RuntimeError("the stock runner stopped")


def _start_follower(mode: str, url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.lag", "--child", mode, "--url", url],
        cwd=ROOT,
        preexec_fn=die_with_parent,
    )


def _stop_follower(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


# --- one phase -----------------------------------------------------------------------------


class Reader(threading.Thread):
    """Polls the follower's position; keeps (time first seen, position) for each new value."""

    def __init__(self, url: str, query: str) -> None:
        super().__init__(daemon=True)
        self.conn = psycopg.connect(conninfo(url), autocommit=True)
        self.query = query
        self.seen: list[tuple[float, int]] = []
        self.stopping = threading.Event()

    def position(self) -> int:
        try:
            row = self.conn.execute(self.query, prepare=True).fetchone()
        except psycopg.errors.UndefinedTable:  # the stock runner makes its table as it starts
            return 0
        return int(row[0]) if row and row[0] is not None else 0

    def run(self) -> None:
        last = -1
        while not self.stopping.is_set():
            position = self.position()
            if position != last:
                self.seen.append((time.perf_counter(), position))
                last = position
            time.sleep(POLL_SECONDS)

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=5)
        self.conn.close()


def _lags(commits: list[tuple[float, int]], seen: list[tuple[float, int]]) -> list[float]:
    """Seconds from each commit to the first poll that saw its position (inf: never seen)."""
    lags = []
    i = 0
    for committed, needed in commits:  # positions grow with commit time
        while i < len(seen) and seen[i][1] < needed:
            i += 1
        lags.append(max(0.0, seen[i][0] - committed) if i < len(seen) else float("inf"))
    return lags


def _phase(
    mode: str,
    url: str,
    ledger: Ledger,
    catalog: CatalogSlice,
    levels: dict[str, Any],
    *,
    rate: float,
    seconds: float,
    tag: str,
) -> dict[str, Any]:
    count = int(rate * seconds)
    carts = open_carts(ledger, catalog, count + 1, tag=tag, now=utc_now())
    follower = _start_follower(mode, url)
    reader = Reader(url, POSITION[mode])
    try:
        # Catching up: until an order written now is visible (then a moment to settle).
        probe = _save(ledger, place_in_memory(carts.pop(), levels, catalog, now=utc_now()), mode)
        deadline = time.monotonic() + 120
        while reader.position() < probe:
            if time.monotonic() > deadline or follower.poll() is not None:
                raise RuntimeError(f"the {mode} follower did not catch up")
            time.sleep(0.05)
        time.sleep(1.0)
        reader.start()
        commits: list[tuple[float, int]] = []
        started = time.perf_counter()
        for index, cart in enumerate(carts):
            time.sleep(max(0.0, started + index / rate - time.perf_counter()))
            aggregates = place_in_memory(cart, levels, catalog, now=utc_now())
            needed = _save(ledger, aggregates, mode)
            commits.append((time.perf_counter(), needed))
        writing = time.perf_counter() - started
        deadline = time.monotonic() + SETTLE_SECONDS
        while (
            not reader.seen or reader.seen[-1][1] < commits[-1][1]
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        reader.stop()
        _stop_follower(follower)
    lags = _lags(commits, reader.seen)
    return {
        "orders": count,
        "rate": count / writing,
        "p50_ms": percentile(lags, 0.50) * 1000,
        "p99_ms": percentile(lags, 0.99) * 1000,
        "max_ms": max(lags) * 1000,
        "unseen": sum(1 for lag in lags if lag == float("inf")),
    }


def _save(ledger: Ledger, aggregates: list[Any], mode: str) -> int:
    """Save one order (``save_all``); the position at which ``mode``'s view shows it.

    Ours tracks every position; the stock runner only the events it subscribes to
    (order and payment), which ``save_all`` writes first: the cart's and levels'
    events come after them, contiguous in one transaction.
    """
    trailing = sum(len(a.pending_events) for a in aggregates[2:])
    position = ledger.save_all(*aggregates)
    assert position is not None
    return position if mode == "runtime" else position - trailing


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.child:
        _follow(args.child, args.url)
        return 0
    host = machine()
    runs: list[dict[str, Any]] = []
    with bench_database(NAME, keep=args.keep) as url:
        ledger = Ledger(env=event_store_env(url))
        pool = open_pool(url, min_size=1, max_size=2)
        try:
            with phase(f"writing a store of {args.store_orders:,} orders, views caught up"):
                shop = ShopGenerator(ledger)
                shop.generate(args.store_orders)
                catalog = memory_catalog(catalog_for(shop))
                levels = bare_levels(catalog, now=utc_now())
                ledger.save_all(*levels.values())
                runtime = ProjectionRuntime(ledger, pool)
                runtime.ensure()
                runtime.catch_up()
            for repeat in range(args.repeats):
                run = {}
                for mode in ("runtime", "stock") if repeat % 2 == 0 else ("stock", "runtime"):
                    with phase(f"run {repeat + 1}: {mode}, {args.rate:g} orders/s"):
                        run[mode] = _phase(
                            mode,
                            url,
                            ledger,
                            catalog,
                            levels,
                            rate=args.rate,
                            seconds=args.seconds,
                            tag=f"l{repeat}{mode}",
                        )
                    console.log(
                        f"{mode}: p50 {run[mode]['p50_ms']:.1f} ms, p99 {run[mode]['p99_ms']:.1f} ms "
                        f"at {run[mode]['rate']:.0f} orders/s, {run[mode]['unseen']} unseen"
                    )
                runs.append(run)
        finally:
            pool.close()
            ledger.close()
    rates = [r["runtime"]["rate"] for r in runs]
    p99 = median([r["runtime"]["p99_ms"] for r in runs])
    baseline = "eventsourcing ProjectionRunner (stock, one event per transaction), same load"
    figures = [
        figure(
            NAME,
            f"commit → storefront view, p99 at {args.rate:g} orders/s",
            [r["runtime"]["p99_ms"] for r in runs],
            "ms",
            baseline=baseline,
            baseline_runs=[r["stock"]["p99_ms"] for r in runs],
            target=f"≤ {TARGET_MS:g} ms",
            met=p99 <= TARGET_MS,
            note=f"ProjectionRuntime.run (all {len(all_projectors())} views, NOTIFY-woken) in its "
            "own process; "
            f"writer reached {min(rates):.0f}–{max(rates):.0f} orders/s; position polled every "
            f"{POLL_SECONDS * 1000:g} ms",
        ),
        figure(
            NAME,
            f"commit → storefront view, p50 at {args.rate:g} orders/s",
            [r["runtime"]["p50_ms"] for r in runs],
            "ms",
            baseline=baseline,
            baseline_runs=[r["stock"]["p50_ms"] for r in runs],
        ),
    ]
    write_results(NAME, host, figures, runs=runs, rate=args.rate, seconds=args.seconds)
    print_table(figures, title="Live lag")
    unseen = sum(r[mode]["unseen"] for r in runs for mode in r)
    return 1 if unseen else 0


if __name__ == "__main__":
    sys.exit(main())
