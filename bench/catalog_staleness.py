"""How stale checkout's catalog cache can be: commit of a price change → cache dropped.

    python -m bench.catalog_staleness [--changes 200]

In a fresh database ``orderledger_bench_staleness``, one process holds a
``CachedCatalog`` with its ``CatalogListener`` (as ``orderledger serve`` does); another
connection changes a variant's price ``--changes`` times, one statement per
transaction. For each change the figure is the time from the moment its COMMIT
returned to the moment the listener dropped the cache (after which no read is served
the old price). A reader that had started its read before the commit finished it
later than that; it still never serves what it read (see ``infra.catalog_cache``).
"""

import argparse
import sys
import time

import psycopg
from psycopg.types.json import Jsonb

from bench.common import bench_database, console, figure, machine, write_results
from bench.report import print_table
from commands.catalog import CatalogFile
from infra.catalog_cache import CachedCatalog, cached_catalog
from infra.catalog_store import PostgresCatalog
from infra.database import conninfo
from infra.pg import open_pool
from infra.schema import SCHEMA, create_tables

NAME = "staleness"

CATALOG = {
    "regions": [{"id": "eu", "currency": "eur", "tax_rate_bp": 1900}],
    "stock_locations": [{"id": "berlin", "name": "Berlin"}],
    "sales_channels": [{"id": "web", "stock_location_ids": ["berlin"]}],
    "shipping_options": [],
    "products": [
        {
            "id": "tee",
            "title": "T-shirt",
            "tax_rate_bp": None,
            "variants": [{"id": "tee-m", "sku": "TEE-M", "title": "M", "prices": {"eur": 2500}}],
        }
    ],
    "inventory": [],
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog_staleness", description=__doc__)
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args(argv)
    host = machine()
    lags: list[float] = []
    with bench_database(NAME) as url:
        pool = open_pool(url, min_size=1, max_size=2)
        create_tables(pool)
        PostgresCatalog(pool).upsert(CatalogFile.model_validate(CATALOG))
        store, listener = cached_catalog(pool, max_age=5.0)
        assert isinstance(store, CachedCatalog) and listener is not None
        try:
            listener.ready.wait(10)
            with psycopg.connect(conninfo(url), autocommit=True) as writer:
                for n in range(args.changes):
                    store.for_cart(
                        region_id="eu",
                        sales_channel_id="web",
                        shipping_option_id=None,
                        variant_ids=["tee-m"],
                    )  # filled
                    before = store.dropped_at
                    writer.execute(
                        f"UPDATE {SCHEMA}.variants SET prices = %s WHERE id = 'tee-m'",
                        (Jsonb({"eur": 2500 + n}),),
                    )
                    committed = time.monotonic()
                    deadline = committed + 5.0
                    while store.dropped_at == before and time.monotonic() < deadline:
                        time.sleep(0.0002)
                    lags.append((store.dropped_at - committed) * 1000)
        finally:
            listener.stop()
            pool.close()
    console.log(f"{len(lags)} changes: max {max(lags):.2f} ms")
    figures = [
        figure(
            NAME,
            "price change: commit → catalog cache dropped, p99",
            [_percentile(lags, 0.99)],
            "ms",
            note=f"p50 {_percentile(lags, 0.5):.2f} ms, max {max(lags):.2f} ms over "
            f"{len(lags)} changes; max age 5 s bounds it if a notification were lost",
        )
    ]
    write_results(NAME, host, figures, lags_ms=lags)
    print_table(figures, title="Catalog cache staleness")
    return 0


if __name__ == "__main__":
    sys.exit(main())
