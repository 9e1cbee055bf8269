"""``POST /store/carts/{id}/complete`` against the real server, beside its ceiling and a bare
FastAPI endpoint.

    python -m bench.http_checkout [--concurrency 16] [--seconds 6] [--repeats 3] [--carts 3000]

In a fresh database ``orderledger_bench_http``, ``bench.shop.ShopGenerator`` writes
a store (stocked levels, ``--store-orders`` orders) and its catalog is imported.
Four processes are started on 127.0.0.1: the API as production runs it
(``orderledger serve``: PostgreSQL, Redis db 10 for locks and rate limits, Stripe
through the official SDK at ``STRIPE_API_BASE``), the Stripe stand-in
(``bench.stripe_standin``, answering in microseconds, so Stripe's latency is not
measured), the bare FastAPI app (``bench.bare_app``, same uvicorn settings) and the
ceiling (``bench.ceiling_app``, same settings: per completion one Stripe SDK call to the
stand-in, one Redis lock, one library ``save`` of the same events, decided beforehand).

Each run opens ``--carts`` carts (lines, shipping, payment session; written in
bulk through the ledger, their PaymentIntents registered at the stand-in as
authorized), then the driver (``bench.http_load``, its own process) completes
them with ``--concurrency`` workers for ``--seconds`` after a 1 s warm-up; the
same driver then completes as many carts the ceiling opened itself, and posts to the
bare endpoint as long. Each completion is the
whole checkout: retrieve the PaymentIntent at the stand-in, take the Redis lock,
load the cart, price it, reserve stock, save order + payment + cart + levels in
one transaction. Figures are medians over ``--repeats`` runs (sides alternate).
"""

import argparse
import os
import sys
from typing import Any

import httpx
import redis

from bench.checkout_fixture import memory_catalog, open_carts, shop_with_catalog
from bench.common import (
    bench_database,
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
from bench.servers import (
    api_server,
    bare_server,
    ceiling_server,
    load,
    log_dir,
    running,
    stripe_standin,
)
from commands.ledger import Ledger
from infra.container import utc_now
from infra.database import event_store_env
from infra.pg import open_pool

NAME = "http"
# Issue 25's targets for the real completion, beside the ceiling (bench/ceiling_app.py).
CEILING_RATIO = 0.5
CPU_MS = 4.0
P99_MS = 100.0


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = load_arguments(
        "python -m bench.http_checkout", __doc__, seconds=6.0, store_orders=2_000
    )
    parser.add_argument("--carts", type=int, default=3_000, help="carts opened per run (3000)")
    return parser.parse_args(argv)


def _figures(runs: list[dict[str, Any]], concurrency: int) -> list[dict[str, Any]]:
    api = [r["api"] for r in runs]
    bare = [r["bare"] for r in runs]
    ceiling = [r["ceiling"] for r in runs]
    cpu_api = median([r["server_cpu_ms_per_request"] for r in api])
    cpu_bare = median([r["server_cpu_ms_per_request"] for r in bare])
    cpu_ceiling = median([r["server_cpu_ms_per_request"] for r in ceiling])
    driver = max(r["driver_cpu_share"] for r in api + bare + ceiling)
    roof = "ceiling: one Stripe SDK call, one Redis lock, one library save"
    ratio = median([r["rps"] for r in api]) / median([r["rps"] for r in ceiling])
    p99 = median([r["p99_ms"] for r in api])
    return [
        figure(
            NAME,
            f"complete: orders/s at concurrency {concurrency}",
            [r["rps"] for r in api],
            "req/s",
            baseline=roof,
            baseline_runs=[r["rps"] for r in ceiling],
            target=f"ratio ≥ {CEILING_RATIO}",
            met=ratio >= CEILING_RATIO,
            note=f"bare FastAPI POST {median([r['rps'] for r in bare]):,.0f} req/s; "
            f"driver CPU share ≤ {driver:.0%} ({os.cpu_count()} cores shared by driver, server "
            "and PostgreSQL)",
        ),
        figure(
            NAME,
            "complete: server CPU per completion",
            [r["server_cpu_ms_per_request"] for r in api],
            "ms",
            baseline=roof,
            baseline_runs=[r["server_cpu_ms_per_request"] for r in ceiling],
            target=f"≤ {CPU_MS:g} ms",
            met=cpu_api <= CPU_MS,
            note=f"ceiling {cpu_ceiling:.2f} ms, bare endpoint {cpu_bare:.2f} ms",
        ),
        figure(
            NAME,
            "complete: p50 latency",
            [r["p50_ms"] for r in api],
            "ms",
            baseline=roof,
            baseline_runs=[r["p50_ms"] for r in ceiling],
        ),
        figure(
            NAME,
            "complete: p99 latency",
            [r["p99_ms"] for r in api],
            "ms",
            baseline=roof,
            baseline_runs=[r["p99_ms"] for r in ceiling],
            target=f"≤ {P99_MS:g} ms",
            met=p99 <= P99_MS,
            note=f"bare endpoint p99 {median([r['p99_ms'] for r in bare]):.1f} ms",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    host = machine()
    own_redis = redis.Redis.from_url(redis_url())
    own_redis.flushdb()  # our own db index only
    runs: list[dict[str, Any]] = []
    with bench_database(NAME, keep=args.keep) as url, log_dir() as logs:
        ledger = Ledger(env=event_store_env(url))
        pool = open_pool(url, min_size=1, max_size=4)
        try:
            with phase(f"writing a store of {args.store_orders:,} orders"):
                _, catalog_file = shop_with_catalog(ledger, pool, args.store_orders)
            catalog = memory_catalog(catalog_file)
            standin = stripe_standin(logs)
            # One load driver on 127.0.0.1 plays every shopper: the per-client limits on
            # checkout (a shopper's allowance, not the shop's) are lifted for it.
            api = api_server(
                logs,
                database_url=url,
                redis_url=redis_url(),
                stripe_base=standin.url,
                rate_limit_checkout_per_minute="100000000",
                rate_limit_writes_per_minute="100000000",
            )
            bare = bare_server(logs)
            ceiling = ceiling_server(
                logs, database_url=url, redis_url=redis_url(), stripe_base=standin.url
            )
            with running(standin, api, bare, ceiling):
                for repeat in range(args.repeats):
                    with phase(f"run {repeat + 1}: opening {args.carts:,} carts"):
                        carts = open_carts(
                            ledger, catalog, args.carts, tag=f"h{repeat}", now=utc_now()
                        )
                        prepared = httpx.post(
                            f"{ceiling.url}/bench/prepare",
                            json={"tag": f"c{repeat}", "count": args.carts},
                            timeout=300,
                        )
                        prepared.raise_for_status()
                        roof_carts = [c["cart_id"] for c in prepared.json()]
                        httpx.post(
                            f"{standin.url}/bench/payment_intents",
                            json=[*(c.intent_json() for c in carts), *prepared.json()],
                            timeout=60,
                        ).raise_for_status()
                    targets = {
                        "api": (api, [f"/store/carts/{c.cart_id}/complete" for c in carts]),
                        "bare": (bare, [f"/bare/carts/{c.cart_id}/complete" for c in carts]),
                        "ceiling": (ceiling, [f"/ceiling/carts/{c}/complete" for c in roof_carts]),
                    }
                    run: dict[str, Any] = {}
                    sides = ("api", "ceiling", "bare")
                    for side in sides if repeat % 2 == 0 else tuple(reversed(sides)):
                        server, paths = targets[side]
                        run[side] = load(
                            server,
                            "POST",
                            paths,
                            # A cart completes once at the API; the bare endpoint keeps no
                            # state and, far faster, would use up every cart in warm-up.
                            cycle=side == "bare",
                            concurrency=args.concurrency,
                            seconds=args.seconds,
                            warmup=1.0,
                        )
                        if run[side]["ok"] != run[side]["requests"]:
                            console.log(f"[red]{side}: {run[side]['statuses']}[/]")
                            console.log(run[side]["error_samples"])
                    console.log(
                        f"run {repeat + 1}: complete {run['api']['rps']:,.0f}/s "
                        f"p99 {run['api']['p99_ms']:.0f} ms "
                        f"CPU {run['api']['server_cpu_ms_per_request']:.2f} ms; ceiling "
                        f"{run['ceiling']['rps']:,.0f}/s p99 {run['ceiling']['p99_ms']:.0f} ms "
                        f"CPU {run['ceiling']['server_cpu_ms_per_request']:.2f} ms; bare "
                        f"{run['bare']['rps']:,.0f}/s p99 {run['bare']['p99_ms']:.1f} ms"
                    )
                    if max(run[s]["all_requests"] for s in ("api", "ceiling")) >= args.carts:
                        console.log("[yellow]every cart was completed: raise --carts[/]")
                    runs.append(run)
        finally:
            pool.close()
            ledger.close()
            own_redis.flushdb()
            own_redis.close()
    figures = _figures(runs, args.concurrency)
    write_results(NAME, host, figures, runs=runs, concurrency=args.concurrency)
    print_table(figures, title="HTTP checkout")
    failed = any(
        r[side]["ok"] != r[side]["requests"] for r in runs for side in ("api", "bare", "ceiling")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
