"""Past one machine: storefront reads with and without a hot standby, checkout with one
and two API processes; each pair in the same run.

    python -m bench.scale [--concurrency 16] [--seconds 4] [--repeats 2] [--store-orders 2000]

A throwaway PostgreSQL primary with a streaming standby (``tests.replicas.cluster``: the
machine's own initdb / pg_basebackup -R / pg_ctl on free ports) holds a store written by
``bench.shop``. Reads: two ``orderledger serve`` processes run side by side, one on the
primary alone, one with ``READ_DATABASE_URL`` = the standby; the driver (``bench.
http_load``) loads ``GET /store/products/{id}`` and ``GET /store/orders/by-payment-intent
/{id}`` on each, sides alternating. Beside req/s, the primary's own CPU per read (its
backends, from /proc) shows how much read work a standby takes off the primary: on one
machine the standby's CPU is the same cores', so req/s cannot grow here; the primary's
CPU per read is the figure that carries to a standby on a machine of its own.
Checkout: ``serve`` and ``serve --workers 2`` on the same store, completing carts opened
in bulk (``bench.checkout_fixture``), Stripe answered by ``bench.stripe_standin``.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import redis

from bench.checkout_fixture import memory_catalog, open_carts, product_id, shop_with_catalog
from bench.common import (
    console,
    figure,
    load_arguments,
    machine,
    median,
    phase,
    redis_url,
    write_results,
)
from bench.report import print_table
from bench.servers import BIN, Server, _start, api_server, load, log_dir, running, stripe_standin
from commands.ledger import Ledger
from infra.container import utc_now
from infra.database import event_store_env
from infra.pg import open_pool
from infra.projection_runtime import ProjectionRuntime
from infra.stripe_emulator import free_port
from tests.replicas.cluster import Cluster, primary_with_standby

NAME = "scale"
LIFTED = "100000000"  # one driver plays every shopper: per-client limits lifted


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = load_arguments(
        "python -m bench.scale", __doc__, seconds=4.0, repeats=2, store_orders=2_000, keep=False
    )
    parser.add_argument("--carts", type=int, default=1_200, help="carts opened per load")
    return parser.parse_args(argv)


def primary_cpu(cluster: Cluster) -> float:
    """CPU seconds of the primary's processes so far (postmaster and its backends)."""
    pid = int((cluster.root / "primary" / "postmaster.pid").read_text().split()[0])
    total = 0.0
    postmaster = psutil.Process(pid)
    for process in [postmaster, *postmaster.children()]:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def caught_up(cluster: Cluster) -> None:
    with psycopg.connect(cluster.primary_url, autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()
    target = int(row[0]) if row else 0
    deadline = time.monotonic() + 60
    while cluster.replayed() < target:
        if time.monotonic() > deadline:
            raise RuntimeError("the standby did not catch up within 60 s")
        time.sleep(0.1)


def serve_processes(logs: Path, count: int, env_of: Server, **settings: str) -> Server:
    """``orderledger serve --workers count`` with the environment of ``env_of``'s kind."""
    port = free_port()
    env = {**os.environ, **settings}
    argv = [str(BIN / "orderledger"), "serve", "--port", str(port), "--workers", str(count)]
    server = _start(f"orderledger-serve-x{count}", argv, port, env, logs)
    deadline = time.monotonic() + 60
    while len(psutil.Process(server.process.pid).children()) < count + 1:  # + resource tracker
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for _ in range(20):  # every process past its lifespan
        httpx.get(f"{server.url}/health/ready", timeout=10)
    return server


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    host = machine()
    own_redis = redis.Redis.from_url(redis_url())
    own_redis.flushdb()  # our own db index only
    reads: list[dict[str, Any]] = []
    checkouts: list[dict[str, Any]] = []
    with primary_with_standby() as cluster, log_dir() as logs:
        url = cluster.primary_url
        ledger = Ledger(env=event_store_env(url))
        pool = open_pool(url, min_size=1, max_size=4)
        try:
            with phase(f"writing a store of {args.store_orders:,} orders, views caught up"):
                shop, catalog_file = shop_with_catalog(ledger, pool, args.store_orders)
                runtime = ProjectionRuntime(ledger, pool)
                runtime.ensure()
                runtime.catch_up()
                caught_up(cluster)
            products = [f"/store/products/{product_id(v)}" for v in sorted(shop.prices)]
            orders = [
                f"/store/orders/by-payment-intent/pi_bench_{i:08d}"
                for i in range(0, shop.placed, max(1, shop.placed // 1000))
            ]
            standin = stripe_standin(logs)
            common = {"database_url": url, "redis_url": redis_url(), "stripe_base": standin.url}
            primary_only = api_server(logs, **common)
            with_standby = api_server(logs, **common, read_database_url=cluster.standby_url)
            with running(standin, primary_only, with_standby):
                for repeat in range(args.repeats):
                    run: dict[str, Any] = {}
                    sides = [("primary", primary_only), ("standby", with_standby)]
                    for side, server in sides if repeat % 2 == 0 else sides[::-1]:
                        for key, paths in (("product", products), ("order", orders)):
                            before = primary_cpu(cluster)
                            result = load(
                                server,
                                "GET",
                                paths,
                                cycle=True,
                                concurrency=args.concurrency,
                                seconds=args.seconds,
                                warmup=1.0,
                            )
                            used = primary_cpu(cluster) - before
                            result["primary_cpu_ms_per_read"] = (
                                used * 1000 / max(result["all_requests"], 1)
                            )
                            run[f"{key}_{side}"] = result
                    console.log(
                        f"reads run {repeat + 1}: "
                        + ", ".join(f"{k} {v['rps']:,.0f}/s" for k, v in sorted(run.items()))
                    )
                    reads.append(run)
            catalog = memory_catalog(catalog_file)
            lifted = {
                "rate_limit_checkout_per_minute": LIFTED,
                "rate_limit_writes_per_minute": LIFTED,
            }
            standin = stripe_standin(logs)
            one = api_server(logs, **{**common, "stripe_base": standin.url}, **lifted)
            two = serve_processes(
                logs,
                2,
                one,
                DATABASE_URL=url,
                REDIS_URL=redis_url(),
                STRIPE_API_KEY="sk_test_bench",
                STRIPE_API_BASE=standin.url,
                STRIPE_WEBHOOK_SECRET="whsec_bench",
                RATE_LIMIT_CHECKOUT_PER_MINUTE=LIFTED,
                RATE_LIMIT_WRITES_PER_MINUTE=LIFTED,
            )
            with running(standin, one, two):
                for repeat in range(args.repeats):
                    run = {}
                    sides = [("one", one), ("two", two)]
                    for side, server in sides if repeat % 2 == 0 else sides[::-1]:
                        carts = open_carts(
                            ledger, catalog, args.carts, tag=f"s{repeat}{side}", now=utc_now()
                        )
                        httpx.post(
                            f"{standin.url}/bench/payment_intents",
                            json=[c.intent_json() for c in carts],
                            timeout=60,
                        ).raise_for_status()
                        run[side] = load(
                            server,
                            "POST",
                            [f"/store/carts/{c.cart_id}/complete" for c in carts],
                            cycle=False,
                            concurrency=args.concurrency,
                            seconds=args.seconds,
                            warmup=1.0,
                        )
                    console.log(
                        f"checkout run {repeat + 1}: one process {run['one']['rps']:,.0f}/s, "
                        f"two {run['two']['rps']:,.0f}/s"
                    )
                    checkouts.append(run)
        finally:
            pool.close()
            ledger.close()
            own_redis.flushdb()
            own_redis.close()
    figures = _figures(reads, checkouts, args.concurrency)
    write_results(NAME, host, figures, reads=reads, checkouts=checkouts)
    print_table(figures, title="Past one machine")
    failed = any(r["ok"] != r["requests"] for run in reads + checkouts for r in run.values())
    return 1 if failed else 0


def _figures(
    reads: list[dict[str, Any]], checkouts: list[dict[str, Any]], concurrency: int
) -> list[dict[str, Any]]:
    figures = []
    for key, label in (
        ("product", "GET /store/products/{id}"),
        ("order", "GET /store/orders/by-payment-intent/{id}"),
    ):
        primary = [r[f"{key}_primary"] for r in reads]
        standby = [r[f"{key}_standby"] for r in reads]
        cpu_primary = median([r["primary_cpu_ms_per_read"] for r in primary])
        cpu_standby = median([r["primary_cpu_ms_per_read"] for r in standby])
        figures.append(
            figure(
                NAME,
                f"{label} with a standby: req/s at concurrency {concurrency}",
                [r["rps"] for r in standby],
                "req/s",
                baseline="the same reads against the primary alone, same run",
                baseline_runs=[r["rps"] for r in primary],
                note=f"primary CPU per read {cpu_standby:.3f} ms with the standby, "
                f"{cpu_primary:.3f} ms without (same cores: req/s cannot grow on one box)",
            )
        )
    figures.append(
        figure(
            NAME,
            f"POST /store/carts/{{id}}/complete, two API processes: req/s at {concurrency}",
            [r["two"]["rps"] for r in checkouts],
            "req/s",
            baseline="one API process, same store, same run",
            baseline_runs=[r["one"]["rps"] for r in checkouts],
            note=f"p99 {median([r['two']['p99_ms'] for r in checkouts]):.0f} ms "
            f"(one process {median([r['one']['p99_ms'] for r in checkouts]):.0f} ms)",
        )
    )
    return figures


if __name__ == "__main__":
    sys.exit(main())
