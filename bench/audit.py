"""How fast ``audit verify`` folds the store, beside the raw read-and-decode rate of the log.

    python -m bench.audit [--orders N] [--repeats N] [--keep] [--output FILE]

In a fresh database ``orderledger_bench_audit`` on DATABASE_URL's server (created
and dropped here), it writes a realistic store with ``bench.shop.ShopGenerator``
(the projections benchmark's generator: orders through the domain's aggregates and
``Ledger.save_all``), catches the ``order_transactions`` view up, and measures at
two store sizes (half the orders, then all), each in a fresh child process so that
its peak RSS is its own:

* raw read + decode: ``select_notifications`` in pages and ``to_domain_event`` for
  every notification — the ceiling for any reader of the log;
* ``audit verify`` as the CLI runs it (``verify_store``: order and payment events
  only, every check, the view compared);
* the same fold over every notification decoded (no topic filter), to show what
  the checks cost beside decoding.

Rates are log positions (notifications) per second, the best of ``--repeats`` runs;
peak RSS is the highest of the verify runs. ``now`` is the generator's
start, so no capture is due and a clean store must give no violation.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.common import drop_database, recreate_database
from bench.shop import T0, ShopGenerator
from commands.ledger import Ledger
from infra.audit_views import PostgresTransactionsView
from infra.database import event_store_env
from infra.pg import open_pool
from infra.projection_runtime import ProjectionRuntime
from infra.schema import create_tables
from queries.audit.source import PAGE_SIZE, head, read_log
from queries.audit.verify import Verifier, verify_store

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "orderledger_bench_audit"
ROOT = Path(__file__).resolve().parent.parent
MIN_EVENTS = 200_000
TARGET = 0.5  # verify / raw read + decode

console = Console(stderr=True)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.audit", description=__doc__)
    parser.add_argument(
        "--orders", type=int, default=16_000, help="orders to write (16000: ~215k events)"
    )
    parser.add_argument(
        "--repeats", type=int, default=2, help="runs of each measurement; the best counts (2)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--output", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--child", choices=("raw", "verify"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- measurements, each in a child process ------------------------------------------------


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _child(mode: str, url: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.audit", "--child", mode, "--url", url],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _child_raw(ledger: Ledger) -> dict[str, Any]:
    """Read and decode every notification; then the verifier's fold over all of them."""
    stop = head(ledger)
    raw = float("inf")
    for _ in range(2):  # the first pass also warms the caches the others then find warm
        started = time.perf_counter()
        decoded = 0
        for _, page in read_log(ledger, stop=stop, page_size=PAGE_SIZE):
            decoded += len(page)
        raw = min(raw, time.perf_counter() - started)
    verifier = Verifier(now=T0, on_violation=lambda v: None)
    started = time.perf_counter()
    for position, page in read_log(ledger, stop=stop, page_size=PAGE_SIZE):
        verifier.feed(page)
        verifier.page_done(position)
    report = verifier.finish(head=stop, view_position=None)
    unfiltered = time.perf_counter() - started
    return {
        "events": stop,
        "decoded": decoded,
        "raw_seconds": raw,
        "unfiltered_seconds": unfiltered,
        "unfiltered_violations": report.violation_count,
    }


def _child_verify(ledger: Ledger, url: str) -> dict[str, Any]:
    """``audit verify`` as the CLI runs it, with the view; this process's peak RSS."""
    pool = open_pool(url, min_size=1, max_size=2)
    try:
        rss_before = _rss()
        violations: list[str] = []
        started = time.perf_counter()
        report = verify_store(
            ledger,
            PostgresTransactionsView(pool),
            now=T0,
            on_violation=lambda v: violations.append(str(v)) if len(violations) < 5 else None,
        )
        seconds = time.perf_counter() - started
        return {
            "events": report.head,
            "money_events": report.events,
            "orders": report.orders,
            "view_position": report.view_position,
            "violations": report.violation_count,
            "first_violations": violations,
            "seconds": seconds,
            "rss_before": rss_before,
            "peak_rss": _peak_rss(),
        }
    finally:
        pool.close()


def _run_child(mode: str, url: str) -> dict[str, Any]:
    ledger = Ledger(env=event_store_env(url))
    try:
        return _child_raw(ledger) if mode == "raw" else _child_verify(ledger, url)
    finally:
        ledger.close()


# --- the run ------------------------------------------------------------------------------


def _measure(url: str, runtime: ProjectionRuntime, repeats: int) -> dict[str, Any]:
    """Best of ``repeats`` alternating runs (other work on the machine makes single runs noisy)."""
    console.log(f"catching order_transactions up to {runtime.ledger.head:,} …")
    runtime.catch_up("order_transactions")
    raws, verifies = [], []
    for _ in range(repeats):
        console.log("raw read + decode, and the fold over every event …")
        raws.append(_child("raw", url))
        console.log("audit verify …")
        verifies.append(_child("verify", url))
    raw = {
        **raws[0],
        "raw_seconds": min(r["raw_seconds"] for r in raws),
        "unfiltered_seconds": min(r["unfiltered_seconds"] for r in raws),
    }
    verify = {
        **min(verifies, key=lambda v: v["seconds"]),
        "peak_rss": max(v["peak_rss"] for v in verifies),
        "rss_before": min(v["rss_before"] for v in verifies),
    }
    console.log(
        f"{verify['events']:,} events: raw {verify['events'] / raw['raw_seconds']:,.0f} ev/s, "
        f"verify {verify['events'] / verify['seconds']:,.0f} ev/s"
    )
    return {"raw": raw, "verify": verify}


def _report(runs: list[dict[str, Any]], store: dict[str, Any]) -> Table:
    def rate(events: int, seconds: float) -> str:
        return f"{events / seconds:,.0f} ev/s"

    def mib(n: float) -> str:
        return f"{n / 2**20:,.1f} MiB"

    full = runs[-1]
    events = full["verify"]["events"]
    table = Table(title=f"audit verify — {store['orders']:,} orders, {events:,} events")
    table.add_column("measure")
    table.add_column("figure", justify="right")
    table.add_column("note")
    table.add_row(
        "store generation",
        f"{store['seconds']:.0f} s",
        f"{rate(events, store['seconds'])} via ShopGenerator + Ledger.save_all",
    )
    for run in runs:
        raw, verify = run["raw"], run["verify"]
        n = verify["events"]
        ratio = raw["raw_seconds"] / verify["seconds"]
        met = "[green]met[/]" if ratio >= TARGET else "[red]not met[/]"
        table.add_row(f"raw read + decode @ {n:,}", rate(n, raw["raw_seconds"]), "every event")
        table.add_row(
            f"audit verify @ {n:,}",
            rate(n, verify["seconds"]),
            f"{verify['money_events']:,} order/payment events read, view compared; "
            f"{verify['violations']} violations",
        )
        table.add_row(f"verify / raw @ {n:,}", f"{ratio:.0%}", f"target ≥ {TARGET:.0%}: {met}")
        table.add_row(
            f"fold over every event @ {n:,}",
            rate(n, raw["unfiltered_seconds"]),
            f"no topic filter: {raw['raw_seconds'] / raw['unfiltered_seconds']:.0%} of raw",
        )
    for run in runs:
        verify = run["verify"]
        table.add_row(
            f"verify peak RSS @ {verify['events']:,}",
            mib(verify["peak_rss"]),
            f"{mib(verify['peak_rss'] - verify['rss_before'])} above the process before "
            f"verifying (pages of {PAGE_SIZE:,} events, the view cursor, fold state)",
        )
    small, large = runs[0]["verify"], runs[-1]["verify"]
    orders = large["orders"] - small["orders"]
    grew = large["peak_rss"] - small["peak_rss"]
    table.add_row(
        "peak RSS growth",
        mib(grew),
        f"{large['events'] / max(small['events'], 1):.1f}× the events, "
        f"+{orders:,} orders: {grew / max(orders, 1):,.0f} B per order of fold state",
    )
    return table


def _main(args: argparse.Namespace) -> int:
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    url = recreate_database(server_url, BENCH_DB)
    ledger = Ledger(env=event_store_env(url))
    pool = open_pool(url, min_size=1, max_size=2)
    runs: list[dict[str, Any]] = []
    try:
        create_tables(pool)
        runtime = ProjectionRuntime(ledger, pool)
        runtime.ensure()
        shop = ShopGenerator(ledger)
        generating = 0.0
        half = args.orders // 2
        for orders in (half, args.orders - half):
            console.log(f"writing {orders:,} orders …")
            started = time.perf_counter()
            shop.generate(orders)
            generating += time.perf_counter() - started
            runs.append(_measure(url, runtime, args.repeats))
        store = {"orders": shop.placed, "events": ledger.head, "seconds": generating}
    finally:
        pool.close()
        ledger.close()
        if not args.keep:
            drop_database(server_url, BENCH_DB)
    Console(width=150).print(_report(runs, store))
    if store["events"] < MIN_EVENTS:
        console.log(f"note: {store['events']:,} events, fewer than {MIN_EVENTS:,}")
    if args.output:
        args.output.write_text(json.dumps({"store": store, "runs": runs}, indent=2) + "\n")
    # A generated store is clean by construction: a violation is a bug in verify.
    return 0 if all(run["verify"]["violations"] == 0 for run in runs) else 1


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    if args.child:
        print(json.dumps(_run_child(args.child, args.url)))
        return 0
    return _main(args)


if __name__ == "__main__":
    sys.exit(main())
