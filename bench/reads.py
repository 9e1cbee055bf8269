"""Storefront reads against the real server, beside bare FastAPI JSON endpoints.

    python -m bench.reads [--concurrency 16] [--seconds 4] [--repeats 3] [--store-orders 5000]

In a fresh database ``orderledger_bench_reads``, ``bench.shop.ShopGenerator``
writes ``--store-orders`` orders, the matching catalog (200 products) is imported
and every view is caught up. The API runs as production runs it (``orderledger
serve``, Redis db 10), the bare app (``bench.bare_app``) with the same uvicorn
settings; the driver (``bench.http_load``) runs in its own process with
``--concurrency`` workers, a 1 s warm-up, then ``--seconds`` measured, for:

* ``GET /store/products/{id}`` (product, its variants, availability summed over
  the stock locations: three queries), over the 200 products in a shuffled cycle;
* ``GET /store/orders/by-payment-intent/{id}`` (one row of the storefront-orders
  view), over 2,000 of the store's orders in a shuffled cycle;

each beside a bare endpoint answering JSON of the same shape from memory; and,
to tell the middleware's share from the queries', ``GET /health`` of both apps
(the API's goes through every middleware: request log, metrics, CORS, rate limit,
idempotency; no database). The six loads run in a different order in each of ``--repeats`` runs; figures are
medians. Target: each read ≥ 0.6 × its bare endpoint's throughput.
"""

import argparse
import random
import sys
from typing import Any

import redis

from bench.checkout_fixture import product_id, shop_with_catalog
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
from bench.servers import api_server, bare_server, load, log_dir, running, stripe_standin
from commands.ledger import Ledger
from infra.database import event_store_env
from infra.pg import open_pool
from infra.projection_runtime import ProjectionRuntime

NAME = "reads"
TARGET = 0.6  # read / bare endpoint throughput
SAMPLED_ORDERS = 2_000


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = load_arguments("python -m bench.reads", __doc__, seconds=4.0, store_orders=5_000)
    return parser.parse_args(argv)


def _figures(runs: list[dict[str, Any]], concurrency: int) -> list[dict[str, Any]]:
    figures = []
    for key, label in (
        ("product", "GET /store/products/{id}"),
        ("order", "GET /store/orders/by-payment-intent/{id}"),
    ):
        api = [r[f"{key}_api"] for r in runs]
        bare = [r[f"{key}_bare"] for r in runs]
        ratio = median([r["rps"] for r in api]) / median([r["rps"] for r in bare])
        cpu_api = median([r["server_cpu_ms_per_request"] for r in api])
        cpu_bare = median([r["server_cpu_ms_per_request"] for r in bare])
        driver = max(r["driver_cpu_share"] for r in api + bare)
        figures += [
            figure(
                NAME,
                f"{label}: req/s at concurrency {concurrency}",
                [r["rps"] for r in api],
                "req/s",
                baseline="bare FastAPI GET, same JSON, same uvicorn settings",
                baseline_runs=[r["rps"] for r in bare],
                target=f"ratio ≥ {TARGET}",
                met=ratio >= TARGET,
                note=f"server CPU per request {cpu_api:.2f} ms (bare {cpu_bare:.2f} ms: "
                f"{cpu_bare / cpu_api:.2f}×); driver CPU share ≤ {driver:.0%}",
            ),
            figure(
                NAME,
                f"{label}: p99 latency",
                [r["p99_ms"] for r in api],
                "ms",
                baseline="bare FastAPI GET, same JSON, same uvicorn settings",
                baseline_runs=[r["p99_ms"] for r in bare],
                note=f"p50 {median([r['p50_ms'] for r in api]):.1f} ms "
                f"(bare {median([r['p50_ms'] for r in bare]):.1f} ms)",
            ),
        ]
    api = [r["health_api"] for r in runs]
    bare = [r["health_bare"] for r in runs]
    cpu_api = median([r["server_cpu_ms_per_request"] for r in api])
    cpu_bare = median([r["server_cpu_ms_per_request"] for r in bare])
    figures.append(
        figure(
            NAME,
            f"GET /health (API middleware, no database): req/s at concurrency {concurrency}",
            [r["rps"] for r in api],
            "req/s",
            baseline="bare FastAPI GET /health, same uvicorn settings",
            baseline_runs=[r["rps"] for r in bare],
            note=f"server CPU per request {cpu_api:.2f} ms (bare {cpu_bare:.2f} ms): "
            "the middleware's share of the reads above",
        )
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    host = machine()
    rng = random.Random(20250106)
    own_redis = redis.Redis.from_url(redis_url())
    own_redis.flushdb()  # our own db index only
    runs: list[dict[str, Any]] = []
    with bench_database(NAME, keep=args.keep) as url, log_dir() as logs:
        ledger = Ledger(env=event_store_env(url))
        pool = open_pool(url, min_size=1, max_size=4)
        try:
            with phase(f"writing a store of {args.store_orders:,} orders, views caught up"):
                shop, _ = shop_with_catalog(ledger, pool, args.store_orders)
                runtime = ProjectionRuntime(ledger, pool)
                runtime.ensure()
                runtime.catch_up()
            products = [product_id(v) for v in sorted(shop.prices)]
            intents = [
                f"pi_bench_{i:08d}"
                for i in rng.sample(range(shop.placed), min(SAMPLED_ORDERS, shop.placed))
            ]
            rng.shuffle(products)
            paths = {
                "product_api": [f"/store/products/{p}" for p in products],
                "product_bare": [f"/bare/products/{p}" for p in products],
                "order_api": [f"/store/orders/by-payment-intent/{pi}" for pi in intents],
                "order_bare": [f"/bare/orders/by-payment-intent/{pi}" for pi in intents],
                "health_api": ["/health"],
                "health_bare": ["/health"],
            }
            standin = stripe_standin(logs)
            api = api_server(logs, database_url=url, redis_url=redis_url(), stripe_base=standin.url)
            bare = bare_server(logs)
            with running(standin, api, bare):
                for repeat in range(args.repeats):
                    order = list(paths)
                    rng.shuffle(order)
                    run: dict[str, Any] = {}
                    for key in order:
                        run[key] = load(
                            api if key.endswith("_api") else bare,
                            "GET",
                            paths[key],
                            cycle=True,
                            concurrency=args.concurrency,
                            seconds=args.seconds,
                            warmup=1.0,
                        )
                        if run[key]["ok"] != run[key]["requests"]:
                            console.log(f"[red]{key}: {run[key]['statuses']}[/]")
                            console.log(run[key]["error_samples"])
                    console.log(
                        f"run {repeat + 1}: "
                        + ", ".join(f"{k} {run[k]['rps']:,.0f}/s" for k in sorted(run))
                    )
                    runs.append(run)
        finally:
            pool.close()
            ledger.close()
            own_redis.flushdb()
            own_redis.close()
    figures = _figures(runs, args.concurrency)
    write_results(NAME, host, figures, runs=runs, store_orders=args.store_orders)
    print_table(figures, title="Storefront reads")
    failed = any(load["ok"] != load["requests"] for run in runs for load in run.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
