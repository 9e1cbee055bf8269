"""How the costs grow with the store: write path, one order's load, rebuild, audit verify.

    python -m bench.growth [--sizes 10000,100000,1000000] [--repeats 3] [--orders 60]

Two databases: ``orderledger_bench_growth`` grows through ``--sizes`` (events in the
log, written by ``bench.shop.ShopGenerator``); ``orderledger_bench_growth_ref`` is
written once to the smallest size and stays small. At each larger size every cost is
measured on both stores in the same minutes, interleaved (the big store, then the
small one, and the other way round in the next repeat), so that the machine's drift
over the half hour the big store takes to grow falls on both sides alike (it used
to be compared with the size before, measured minutes earlier: the ratios then
followed the machine's load as much as the store's size). ``--repeats`` times:

* one order's load: ``ledger.repository.get`` of 200 random orders of the store
  (the median); beside it an inventory level's (20 of the shop's 400 levels,
  which collect a reservation per order line);
* rebuild: ``ProjectionRuntime.rebuild_many`` of every view in one pass (what
  ``ProjectionRuntime.rebuild`` does for one), per event of the log;
* ``audit verify``: ``verify_store`` as the CLI runs it (the view compared), per event;
* the write path of ``bench.write_path`` (``_place`` beside the bare save, ``--orders``
  each way), after the other measurements so that they see the store as generated
  (the small store grows by these orders, a few thousand events per size).

After growing to each size the database is vacuumed and analysed (not timed), so
that autovacuum of the freshly written log does not run during the measurements.

A flat order load and a constant cost per event (linear rebuild and verify) give
ratios near 1. Targets: order load ≤ 1.5× the small store's (flat), rebuild and
verify per event ≤ 1.5× (linear). Rebuild and verify run ``--heavy-repeats`` times
(default once) above 300k events, where one run takes minutes; everything else
``--repeats`` times.
"""

import argparse
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.common import bench_database, console, figure, machine, median, phase, write_results
from bench.report import print_table
from bench.shop import T0, ShopGenerator
from bench.write_path import WriteBench, reload_levels
from commands.ledger import Ledger
from domain.ids import order_id_for
from infra.audit_views import PostgresTransactionsView
from infra.database import event_store_env
from infra.pg import Pool, open_pool
from infra.projection_runtime import ProjectionRuntime
from infra.schema import create_tables
from infra.stored_reader import stored_reader_for
from queries.audit.verify import verify_store

NAME = "growth"
FLAT = 1.5  # load-time ratio that still counts as not growing
LINEAR = 1.5  # per-event cost ratio that still counts as linear
EVENTS_PER_ORDER = 13.5  # what ShopGenerator writes per order, settlement included
SAMPLE_ORDERS = 200
SAMPLE_LEVELS = 20


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.growth", description=__doc__)
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(float(x)) for x in text.split(",")],
        default=[10_000, 100_000, 1_000_000],
        help="store sizes in events (10000,100000,1000000)",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs; the median counts (3)")
    parser.add_argument(
        "--heavy-repeats",
        type=int,
        default=1,
        help="runs of rebuild and verify at sizes over 300k events (1)",
    )
    parser.add_argument("--orders", type=int, default=60, help="write-path orders per run (60)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    return parser.parse_args(argv)


def _load_times(ledger: Ledger, ids: list[Any]) -> float:
    """Median seconds of ``repository.get`` over ``ids``."""
    times = []
    for aggregate_id in ids:
        started = time.perf_counter()
        ledger.repository.get(aggregate_id)
        times.append(time.perf_counter() - started)
    return median(times)


@dataclass
class Store:
    """One of the two stores: its ledger, our pool, the shop writing it and its write bench."""

    ledger: Ledger
    pool: Pool
    shop: ShopGenerator
    writes: WriteBench
    runtime: ProjectionRuntime

    @classmethod
    def open(cls, url: str) -> "Store":
        ledger = Ledger(env=event_store_env(url), stored_reader_for=stored_reader_for)
        pool = open_pool(url, min_size=1, max_size=4)
        create_tables(pool)
        runtime = ProjectionRuntime(ledger, pool)
        runtime.ensure()
        shop = ShopGenerator(ledger)
        return cls(ledger, pool, shop, WriteBench.setup(ledger, pool, shop), runtime)

    def close(self) -> None:
        self.pool.close()
        self.ledger.close()

    def grow_to(self, size: int) -> None:
        while self.ledger.head < size:
            missing = size - self.ledger.head
            self.shop.generate(max(1, min(5_000, round(missing / EVENTS_PER_ORDER))))
        with self.pool.connection() as conn:  # a settled store: no autovacuum mid-measure
            conn.execute("VACUUM (ANALYZE)")

    def order_load(self, rng: random.Random) -> float:
        placed = self.shop.placed
        ids = [
            order_id_for(f"pi_bench_{i:08d}")
            for i in rng.sample(range(placed), min(SAMPLE_ORDERS, placed))
        ]
        return _load_times(self.ledger, ids)

    def level_load(self, rng: random.Random) -> float:
        return _load_times(
            self.ledger, rng.sample([lv.id for lv in self.shop.levels.values()], SAMPLE_LEVELS)
        )

    def rebuild(self) -> float:
        started = time.perf_counter()
        self.runtime.rebuild_many(list(self.runtime.projectors))
        return time.perf_counter() - started

    def verify(self) -> tuple[float, int]:
        """Seconds taken, and the violations found (none expected)."""
        violations = 0

        def count(_: object) -> None:
            nonlocal violations
            violations += 1

        started = time.perf_counter()
        verify_store(self.ledger, PostgresTransactionsView(self.pool), now=T0, on_violation=count)
        return time.perf_counter() - started, violations


def _interleaved(
    big: Callable[[], float], small: Callable[[], float], repeats: int
) -> tuple[list[float], list[float]]:
    """``repeats`` measures of each, big first in even repeats and small first in odd ones."""
    bigs: list[float] = []
    smalls: list[float] = []
    for repeat in range(repeats):
        if repeat % 2 == 0:
            bigs.append(big())
            smalls.append(small())
        else:
            smalls.append(small())
            bigs.append(big())
    return bigs, smalls


def _measure(store: Store, ref: Store, args: argparse.Namespace) -> dict[str, Any]:
    """Every cost on the grown store and on the small one, interleaved."""
    rng = random.Random(store.ledger.head)
    events = store.ledger.head
    heavy = args.repeats if events <= 300_000 else args.heavy_repeats
    result: dict[str, Any] = {
        "events": events,
        "orders": store.shop.placed,
        "ref_events": ref.ledger.head,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    result["order_load"], result["ref_order_load"] = _interleaved(
        lambda: store.order_load(rng), lambda: ref.order_load(rng), args.repeats
    )
    result["level_load"], result["ref_level_load"] = _interleaved(
        lambda: store.level_load(rng), lambda: ref.level_load(rng), args.repeats
    )
    # The small store's rebuild and verify take a second: once on each side of each heavy run.
    result["rebuild"], result["ref_rebuild"] = [], []
    result["verify"], result["ref_verify"] = [], []
    result["violations"] = 0
    for _ in range(heavy):
        before = ref.rebuild()
        result["rebuild"].append(store.rebuild())
        result["ref_rebuild"] += [before, ref.rebuild()]
        before, found = ref.verify()
        seconds, violations = store.verify()
        after, also = ref.verify()
        result["verify"].append(seconds)
        result["ref_verify"] += [before, after]
        result["violations"] += violations + found + also
    console.log(
        f"{events:,} events: order load {median(result['order_load']) * 1000:.2f} ms "
        f"(small store {median(result['ref_order_load']) * 1000:.2f} ms), "
        f"rebuild {median(result['rebuild']):.1f} s, verify {median(result['verify']):.1f} s"
    )
    writes: list[dict[str, Any]] = []
    for repeat in range(args.repeats):
        sides = [(store, "write"), (ref, "ref_write")]
        for side, key in sides if repeat % 2 == 0 else sides[::-1]:
            run = side.writes.measure(orders=args.orders, repeats=1, tag=f"g{events}{key}{repeat}")
            writes.append({"side": key, **run["runs"][0]})
            reload_levels(side.ledger, side.shop)
    result["write"] = [w for w in writes if w["side"] == "write"]
    result["ref_write"] = [w for w in writes if w["side"] == "ref_write"]
    return result


def _per_event(size: dict[str, Any], key: str, events: str = "events") -> list[float]:
    return [seconds / size[events] * 1e6 for seconds in size[key]]


def _exponent(ratio: float, size: dict[str, Any]) -> float:
    """k in cost ∝ events^k from the small store to this size (0: flat, 1: linear)."""
    return round(math.log(ratio) / math.log(size["events"] / size["ref_events"]), 2) + 0.0


def _figures(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each size beside the small store measured alongside: flat and linear give ratios near 1."""
    figures = []
    for size in sizes:
        at = f"@ {size['events']:,} events"
        base = f"same on a {size['ref_events']:,}-event store, measured alongside"
        order = [t * 1000 for t in size["order_load"]]
        ref_order = [t * 1000 for t in size["ref_order_load"]]
        rebuild = _per_event(size, "rebuild")
        ref_rebuild = _per_event(size, "ref_rebuild", "ref_events")
        verify = _per_event(size, "verify")
        ref_verify = _per_event(size, "ref_verify", "ref_events")
        load_ratio = median(order) / median(ref_order)
        rebuild_ratio = median(rebuild) / median(ref_rebuild)
        verify_ratio = median(verify) / median(ref_verify)
        write = [r["use_case_rate"] for r in size["write"]]
        bare = median([r["bare_rate"] for r in size["write"]])
        figures += [
            figure(
                NAME,
                f"order load (repository.get) {at}",
                order,
                "ms",
                baseline=base,
                baseline_runs=ref_order,
                target=f"ratio ≤ {FLAT} (flat)",
                met=load_ratio <= FLAT,
                note=f"load time ∝ events^{_exponent(load_ratio, size):.2f}",
            ),
            figure(
                NAME,
                f"inventory level load {at}",
                [t * 1000 for t in size["level_load"]],
                "ms",
                baseline=base,
                baseline_runs=[t * 1000 for t in size["ref_level_load"]],
                note="from its latest snapshot (one every 25 events) and the events after it",
            ),
            figure(
                NAME,
                f"rebuild all views, per event {at}",
                rebuild,
                "µs/event",
                baseline=base,
                baseline_runs=ref_rebuild,
                target=f"ratio ≤ {LINEAR} (linear)",
                met=rebuild_ratio <= LINEAR,
                note=f"{median(size['rebuild']):,.1f} s in all; time ∝ "
                f"events^{_exponent(rebuild_ratio * size['events'] / size['ref_events'], size):.2f}",
            ),
            figure(
                NAME,
                f"audit verify, per event {at}",
                verify,
                "µs/event",
                baseline=base,
                baseline_runs=ref_verify,
                target=f"ratio ≤ {LINEAR} (linear)",
                met=verify_ratio <= LINEAR,
                note=f"{median(size['verify']):,.1f} s in all, {size['violations']} violations; "
                f"time ∝ events^{_exponent(verify_ratio * size['events'] / size['ref_events'], size):.2f}",
            ),
            figure(
                NAME,
                f"write path (use case) {at}",
                write,
                "orders/s",
                baseline=base,
                baseline_runs=[r["use_case_rate"] for r in size["ref_write"]],
                note=f"bare save here {bare:,.0f} orders/s, the use case {median(write) / bare:.2f}× "
                "of it",
            ),
        ]
    return figures


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    host = machine()
    sizes: list[dict[str, Any]] = []
    generating = 0.0
    smallest, *larger = sorted(args.sizes)
    with (
        bench_database(NAME, keep=args.keep) as url,
        bench_database(f"{NAME}_ref", keep=args.keep) as ref_url,
    ):
        store = Store.open(url)
        ref = Store.open(ref_url)
        try:
            with phase(f"writing both stores to {smallest:,} events"):
                store.grow_to(smallest)
                ref.grow_to(smallest)
            for size in larger:
                with phase(f"growing the store to {size:,} events"):
                    started = time.perf_counter()
                    store.grow_to(size)
                    generating += time.perf_counter() - started
                with phase(f"measuring at {store.ledger.head:,} events, and the small store"):
                    sizes.append(_measure(store, ref, args))
        finally:
            store.close()
            ref.close()
    figures = _figures(sizes)
    write_results(NAME, host, figures, sizes=sizes, generating_seconds=generating)
    print_table(figures, title="Growth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
