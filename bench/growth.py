"""How the costs grow with the store: write path, one order's load, rebuild, audit verify.

    python -m bench.growth [--sizes 10000,100000,1000000] [--repeats 3] [--orders 60]

One database ``orderledger_bench_growth`` grows through ``--sizes`` (events in the
log, written by ``bench.shop.ShopGenerator``). At each size, ``--repeats`` times:

* one order's load: ``ledger.repository.get`` of 200 random orders of the store
  (the median); beside it an inventory level's (20 of the shop's 400 levels,
  which collect a reservation per order line);
* rebuild: ``ProjectionRuntime.rebuild_many`` of every view in one pass (what
  ``ProjectionRuntime.rebuild`` does for one), per event of the log;
* ``audit verify``: ``verify_store`` as the CLI runs it (the view compared), per event;
* the write path of ``bench.write_path`` (``_place`` beside the bare save, ``--orders``
  each way), after the other measurements so that they see the store as generated.

After growing to each size the database is vacuumed and analysed (not timed), so
that autovacuum of the freshly written log does not run during the measurements.

Every figure is compared with the same measure at the size before it (10× fewer
events by default): a flat order load and a constant cost per event (linear
rebuild and verify) give ratios near 1. Targets: order load ≤ 1.5× (flat),
rebuild and verify per event ≤ 1.5× (linear). Rebuild and verify run
``--heavy-repeats`` times (default once) above 300k events, where one run takes
minutes; everything else ``--repeats`` times.
"""

import argparse
import itertools
import math
import os
import random
import sys
import time
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
from infra.stored_reader import attach_stored_reader
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


def _measure(
    ledger: Ledger, pool: Pool, shop: ShopGenerator, writes: WriteBench, args: argparse.Namespace
) -> dict[str, Any]:
    rng = random.Random(ledger.head)
    events = ledger.head
    heavy = args.repeats if events <= 300_000 else args.heavy_repeats
    runtime = ProjectionRuntime(ledger, pool)
    result: dict[str, Any] = {
        "events": events,
        "orders": shop.placed,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    order_ids = [order_id_for(f"pi_bench_{i:08d}") for i in range(shop.placed)]
    levels = [level.id for level in shop.levels.values()]
    result["order_load"] = [
        _load_times(ledger, rng.sample(order_ids, min(SAMPLE_ORDERS, len(order_ids))))
        for _ in range(args.repeats)
    ]
    result["level_load"] = [
        _load_times(ledger, rng.sample(levels, SAMPLE_LEVELS)) for _ in range(args.repeats)
    ]
    result["rebuild"] = []
    result["verify"] = []
    for _ in range(heavy):
        started = time.perf_counter()
        runtime.rebuild_many(list(runtime.projectors))
        result["rebuild"].append(time.perf_counter() - started)
        violations = 0

        def count(_: object) -> None:
            nonlocal violations
            violations += 1

        started = time.perf_counter()
        report = verify_store(ledger, PostgresTransactionsView(pool), now=T0, on_violation=count)
        result["verify"].append(time.perf_counter() - started)
        result["verify_events"] = report.head
        result["violations"] = violations
    console.log(
        f"{events:,} events: order load {median(result['order_load']) * 1000:.2f} ms, "
        f"rebuild {median(result['rebuild']):.1f} s, verify {median(result['verify']):.1f} s"
    )
    result["write"] = writes.measure(orders=args.orders, repeats=args.repeats, tag=f"g{events}")
    reload_levels(ledger, shop)
    return result


def _per_event(size: dict[str, Any], key: str) -> list[float]:
    return [seconds / size["events"] * 1e6 for seconds in size[key]]


def _exponent(first: dict[str, Any], last: dict[str, Any], key: str) -> float:
    """k in cost ∝ events^k between two sizes (0: flat, 1: linear)."""
    cost = median(last[key]) / median(first[key])
    return round(math.log(cost) / math.log(last["events"] / first["events"]), 2) + 0.0  # no -0.00


def _figures(sizes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each size beside the size before it (×10): flat load and linear cost give ratios near 1."""
    figures = []
    span = f"{sizes[0]['events']:,}→{sizes[-1]['events']:,} events"
    for before, size in itertools.pairwise(sizes):
        at = f"@ {size['events']:,} events"
        base = f"same @ {before['events']:,} events"
        load = median(size["order_load"]) / median(before["order_load"])
        rebuild = median(_per_event(size, "rebuild")) / median(_per_event(before, "rebuild"))
        verify = median(_per_event(size, "verify")) / median(_per_event(before, "verify"))
        bare = median([r["bare_rate"] for r in size["write"]["runs"]])
        write = [r["use_case_rate"] for r in size["write"]["runs"]]
        last = size is sizes[-1]
        figures += [
            figure(
                NAME,
                f"order load (repository.get) {at}",
                [t * 1000 for t in size["order_load"]],
                "ms",
                baseline=base,
                baseline_runs=[t * 1000 for t in before["order_load"]],
                target=f"ratio ≤ {FLAT} (flat)",
                met=load <= FLAT,
                note=f"load time ∝ events^{_exponent(sizes[0], size, 'order_load'):.2f} "
                f"({sizes[0]['events']:,}→{size['events']:,})"
                if last
                else "",
            ),
            figure(
                NAME,
                f"inventory level load {at}",
                [t * 1000 for t in size["level_load"]],
                "ms",
                baseline=base,
                baseline_runs=[t * 1000 for t in before["level_load"]],
                note="from its latest snapshot (one every 25 events) and the events after it"
                if last
                else "",
            ),
            figure(
                NAME,
                f"rebuild all views, per event {at}",
                _per_event(size, "rebuild"),
                "µs/event",
                baseline=base,
                baseline_runs=_per_event(before, "rebuild"),
                target=f"ratio ≤ {LINEAR} (linear)",
                met=rebuild <= LINEAR,
                note=f"{median(size['rebuild']):,.1f} s in all"
                + (
                    f"; time ∝ events^{_exponent(sizes[0], size, 'rebuild'):.2f} ({span})"
                    if last
                    else ""
                ),
            ),
            figure(
                NAME,
                f"audit verify, per event {at}",
                _per_event(size, "verify"),
                "µs/event",
                baseline=base,
                baseline_runs=_per_event(before, "verify"),
                target=f"ratio ≤ {LINEAR} (linear)",
                met=verify <= LINEAR,
                note=f"{median(size['verify']):,.1f} s in all, {size['violations']} violations"
                + (
                    f"; time ∝ events^{_exponent(sizes[0], size, 'verify'):.2f} ({span})"
                    if last
                    else ""
                ),
            ),
            figure(
                NAME,
                f"write path (use case) {at}",
                write,
                "orders/s",
                baseline=base,
                baseline_runs=[r["use_case_rate"] for r in before["write"]["runs"]],
                note=f"bare save here {bare:,.0f} orders/s, the use case {median(write) / bare:.2f}× "
                "of it: _place loads inventory levels",
            ),
        ]
    return figures


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    host = machine()
    sizes: list[dict[str, Any]] = []
    generating = 0.0
    with bench_database(NAME, keep=args.keep) as url:
        ledger = attach_stored_reader(Ledger(env=event_store_env(url)))
        pool = open_pool(url, min_size=1, max_size=4)
        try:
            create_tables(pool)
            ProjectionRuntime(ledger, pool).ensure()
            shop = ShopGenerator(ledger)
            writes = WriteBench.setup(ledger, pool, shop)
            for size in sorted(args.sizes):
                with phase(f"growing the store to {size:,} events"):
                    started = time.perf_counter()
                    while ledger.head < size:
                        missing = size - ledger.head
                        shop.generate(max(1, min(5_000, round(missing / EVENTS_PER_ORDER))))
                    generating += time.perf_counter() - started
                with pool.connection() as conn:  # a settled store: no autovacuum mid-measure
                    conn.execute("VACUUM (ANALYZE)")
                with phase(f"measuring at {ledger.head:,} events"):
                    sizes.append(_measure(ledger, pool, shop, writes, args))
        finally:
            pool.close()
            ledger.close()
    figures = _figures(sizes)
    write_results(NAME, host, figures, sizes=sizes, generating_seconds=generating)
    print_table(figures, title="Growth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
