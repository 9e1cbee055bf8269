"""Orders placed per second through the place-order use case, beside the library's bare save.

    python -m bench.write_path [--orders 400] [--repeats 3] [--store-orders 2000]

In a fresh database ``orderledger_bench_write`` a store is written first
(``bench.shop.ShopGenerator``: 400 stocked inventory levels and ``--store-orders``
orders) with the matching catalog imported. Then, in each of ``--repeats`` runs
(in alternating order):

* use case: ``commands.checkout.place_under_lock`` for ``--orders`` open carts, one after
  the other, each with an authorized PaymentIntent as Stripe would return it (a
  value object: no Stripe call). Exactly what ``complete`` and the webhook do
  under their lock: look for the order, load the cart, price it from the
  catalog, load and reserve 2–3 inventory levels, then save order + payment
  collection + completed cart + levels in one ``ledger.save_all``;
* bare save: the same events for as many other carts (decided beforehand in
  memory by ``bench.checkout_fixture.place_in_memory``, on levels of their own),
  each order's events put with the eventsourcing library's ``Application.save``
  — one transaction per order, nothing loaded or decided.

Figures are the medians of the runs' rates; the target is use case ≥ 0.6 × bare.
"""

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.checkout_fixture import (
    CURRENCY,
    OpenCart,
    bare_levels,
    catalog_for,
    memory_catalog,
    open_carts,
    place_in_memory,
)
from bench.common import bench_database, console, figure, machine, median, phase, write_results
from bench.report import print_table
from bench.shop import ShopGenerator
from commands.catalog import CatalogSlice
from commands.catalog_import import import_catalog
from commands.checkout import place_under_lock
from commands.ledger import Ledger
from commands.ports import PaymentIntent
from commands.services import Services
from domain.inventory_level import InventoryLevel
from infra.alerts import LoggingAlerts
from infra.catalog_cache import cached_catalog
from infra.container import utc_now
from infra.database import event_store_env
from infra.locks import PostgresLocks
from infra.ops_store import PostgresSecrets, PostgresWebhookInbox
from infra.pg import Pool, open_pool
from infra.schema import create_tables
from infra.settings import Settings
from infra.stored_reader import stored_reader_for
from infra.stripe_gateway import StripeGateway
from infra.timers import NoTimers
from infra.wiring import wire_services

NAME = "write"
TARGET = 0.6  # use case / bare save


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.write_path", description=__doc__)
    parser.add_argument("--orders", type=int, default=400, help="orders per run and side (400)")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the median counts (3)")
    parser.add_argument(
        "--store-orders", type=int, default=2_000, help="orders in the store beforehand (2000)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    return parser.parse_args(argv)


def services_for(ledger: Ledger, pool: Pool) -> Services:
    """What checkout uses, wired as the composition root wires it (Stripe is never called):
    the catalog cached, dropped on NOTIFY (its listener thread runs until the process ends)."""
    catalog, _ = cached_catalog(pool, max_age=5.0)
    return wire_services(
        Settings.model_construct(capture_grace_seconds=3600),
        ledger=ledger,
        catalog=catalog,
        payments=StripeGateway("sk_test_unused", "http://127.0.0.1:9"),
        locks=PostgresLocks(pool),
        webhooks=PostgresWebhookInbox(pool),
        secrets=PostgresSecrets(pool),
        clock=utc_now,
        timers=NoTimers(),
        alerts=LoggingAlerts(),
    )


def authorized(cart: OpenCart) -> PaymentIntent:
    """The PaymentIntent as Stripe returns it once the customer's card is authorized."""
    return PaymentIntent(
        id=cart.intent_id,
        status="requires_capture",
        amount=cart.amount,
        currency=CURRENCY,
        metadata={"cart_id": str(cart.cart_id)},
    )


def run_use_case(services: Services, carts: list[OpenCart]) -> dict[str, float]:
    """``place_under_lock`` for every cart; the seconds taken, and those spent in ``save_all``."""
    saves: list[float] = []
    ledger = services.ledger
    ledger.on_append = saves.append
    head = ledger.head
    hits, misses = ledger.cache.hits, ledger.cache.misses
    try:
        started = time.perf_counter()
        for cart in carts:
            if not place_under_lock(services, authorized(cart), "storefront").created:
                raise RuntimeError(f"{cart.intent_id} was placed before")
        seconds = time.perf_counter() - started
    finally:
        ledger.on_append = None
    return {
        "seconds": seconds,
        "save_seconds": sum(saves),
        "events": ledger.head - head,
        "held_hits": ledger.cache.hits - hits,
        "held_misses": ledger.cache.misses - misses,
    }


def prebuild(
    carts: list[OpenCart], catalog: CatalogSlice, levels: dict[str, InventoryLevel]
) -> list[list[Any]]:
    """Each cart's order, decided in memory: a list of pending events per order."""
    now = datetime.now(UTC)
    return [
        [
            event
            for aggregate in place_in_memory(c, levels, catalog, now=now)
            for event in aggregate.collect_events()
        ]
        for c in carts
    ]


def run_bare(ledger: Ledger, orders: list[list[Any]]) -> dict[str, float]:
    """The library's ``Application.save`` of each order's events (one transaction each)."""
    head = ledger.head
    started = time.perf_counter()
    for events in orders:
        ledger.save(*events)
    return {"seconds": time.perf_counter() - started, "events": ledger.head - head}


@dataclass
class WriteBench:
    """The two sides of the write path, set up once on a store (catalog imported, bare levels)."""

    ledger: Ledger
    services: Services
    catalog: CatalogSlice
    levels: dict[str, InventoryLevel]

    @classmethod
    def setup(cls, ledger: Ledger, pool: Pool, shop: ShopGenerator) -> "WriteBench":
        catalog_file = catalog_for(shop)
        services = services_for(ledger, pool)
        import_catalog(
            catalog_file, ledger=ledger, store=services.catalog, now=utc_now(), by="bench"
        )
        catalog = memory_catalog(catalog_file)
        levels = bare_levels(catalog, now=utc_now())
        ledger.save_all(*levels.values())
        return cls(ledger, services, catalog, levels)

    def measure(self, *, orders: int, repeats: int, tag: str, warm: int = 30) -> dict[str, Any]:
        """Use case and bare save, ``repeats`` times each in alternating order."""
        ledger, catalog = self.ledger, self.catalog
        carts = open_carts(ledger, catalog, 2 * warm, tag=f"{tag}warm", now=utc_now())
        run_use_case(self.services, carts[:warm])
        run_bare(ledger, prebuild(carts[warm:], catalog, self.levels))
        runs: list[dict[str, Any]] = []
        for repeat in range(repeats):
            use_carts = open_carts(ledger, catalog, orders, tag=f"{tag}u{repeat}", now=utc_now())
            bare_orders = prebuild(
                open_carts(ledger, catalog, orders, tag=f"{tag}b{repeat}", now=utc_now()),
                catalog,
                self.levels,
            )
            run: dict[str, Any] = {}
            for side in ("use_case", "bare") if repeat % 2 == 0 else ("bare", "use_case"):
                if side == "use_case":
                    run[side] = run_use_case(self.services, use_carts)
                else:
                    run[side] = run_bare(ledger, bare_orders)
            run["use_case_rate"] = orders / run["use_case"]["seconds"]
            run["bare_rate"] = orders / run["bare"]["seconds"]
            console.log(
                f"run {repeat + 1}: use case {run['use_case_rate']:,.0f} orders/s, "
                f"bare save {run['bare_rate']:,.0f} orders/s"
            )
            runs.append(run)
        return {"orders": orders, "runs": runs}


def reload_levels(ledger: Ledger, shop: ShopGenerator) -> None:
    """``_place`` reserved on the shop's levels: reload them so the generator can go on."""
    for key, level in list(shop.levels.items()):
        shop.levels[key] = ledger.repository.get(level.id)


def figures_of(
    result: dict[str, Any], *, bench: str = NAME, label: str = ""
) -> list[dict[str, Any]]:
    runs = result["runs"]
    use = [r["use_case_rate"] for r in runs]
    bare = [r["bare_rate"] for r in runs]
    ratio = median(use) / median(bare)
    save_share = median([r["use_case"]["save_seconds"] / r["use_case"]["seconds"] for r in runs])
    events = runs[0]["use_case"]["events"] / result["orders"]
    bare_events = runs[0]["bare"]["events"] / result["orders"]
    held = runs[0]["use_case"]
    hits = f"{held['held_hits'] / max(held['held_hits'] + held['held_misses'], 1):.0%}"
    return [
        figure(
            bench,
            f"orders placed/s, place-order use case{label}",
            use,
            "orders/s",
            baseline="eventsourcing Application.save of the same events",
            baseline_runs=bare,
            target=f"ratio ≥ {TARGET}",
            met=ratio >= TARGET,
            note=f"place_under_lock: {save_share:.0%} of its time in save_all, the rest deciding "
            f"on held cart, levels and catalog (hits {hits}); {events:.1f} events "
            f"per order (bare: {bare_events:.1f})",
        )
    ]


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    host = machine()
    with bench_database(NAME, keep=args.keep) as url:
        ledger = Ledger(env=event_store_env(url), stored_reader_for=stored_reader_for)
        pool = open_pool(url, min_size=1, max_size=4)
        try:
            create_tables(pool)
            with phase(f"writing a store of {args.store_orders:,} orders"):
                shop = ShopGenerator(ledger)
                shop.generate(args.store_orders)
            store_events = ledger.head
            with phase(f"{args.repeats} runs of {args.orders} orders each way"):
                bench = WriteBench.setup(ledger, pool, shop)
                result = bench.measure(orders=args.orders, repeats=args.repeats, tag="w")
        finally:
            pool.close()
            ledger.close()
    figures = figures_of(result)
    write_results(NAME, host, figures, store_events=store_events, **result)
    print_table(figures, title="Write path")
    return 0


if __name__ == "__main__":
    sys.exit(main())
