"""The cost of sealing personal data: checkout and a view rebuild, with and without.

    python -m bench.pii [--orders 200] [--repeats 3] [--store-orders 300]

Three fresh databases in one run, each with the same generated shop
(``bench.shop.ShopGenerator``, ``--store-orders`` orders) and catalog:

* plain: personal fields in clear (PII_MASTER_KEY unset, the default);
* sealed: personal fields sealed per customer (``infra/pii``: PII_MASTER_KEY set);
* sealed + cipher: the same, and the whole stored state encrypted with the
  eventsourcing library's own cipher (CIPHER_TOPIC=eventsourcing.cryptography:AESCipher,
  CIPHER_KEY).

In each of ``--repeats`` runs (the sides in rotating order): ``--orders`` orders placed
through the place-order use case (``bench.write_path``: load cart, price, reserve,
save), then a rebuild of the ``admin_orders`` view from the whole log. Figures are
medians; each sealed side's baseline is the plain side of the same run.
"""

import argparse
import sys
import time
from contextlib import ExitStack
from typing import Any

from eventsourcing.cryptography import AESCipher

from bench.common import bench_database, console, figure, machine, median, phase, write_results
from bench.report import print_table
from bench.shop import ShopGenerator
from bench.write_path import WriteBench
from commands.ledger import Ledger
from infra.database import event_store_env
from infra.pg import Pool, open_pool
from infra.pii.crypto import MasterKey, new_master_key_text, parse_master_key
from infra.pii.keys import CachedDataKeys, PostgresDataKeys, create_key_tables
from infra.pii.mapper import PersonalData, sealing
from infra.projection_runtime import ProjectionRuntime
from infra.schema import create_tables
from infra.stored_reader import stored_reader_for

NAME = "pii"
LABELS = {
    "checkout": "place-order use case",
    "rebuild": "admin_orders from the log",
    "mapping": "Order.Placed to stored and back",
}
SIDES = ("plain", "sealed", "sealed+cipher")


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pii", description=__doc__)
    parser.add_argument("--orders", type=int, default=200, help="orders per run and side (200)")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the median counts (3)")
    parser.add_argument("--store-orders", type=int, default=300, help="orders beforehand (300)")
    return parser.parse_args(argv)


class Side:
    def __init__(self, name: str, url: str, store_orders: int) -> None:
        env = event_store_env(url)
        if name == "sealed+cipher":
            env |= {"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher"}
            env |= {"CIPHER_KEY": AESCipher.create_key(32)}
        self.name = name
        self.pool: Pool = open_pool(url, min_size=1, max_size=4)
        create_tables(self.pool)
        personal = None
        if name != "plain":
            master = MasterKey(parse_master_key(new_master_key_text()))
            create_key_tables(self.pool)
            personal = PersonalData(master, CachedDataKeys(PostgresDataKeys(self.pool, master)))
        self.ledger = Ledger(
            env=env,
            stored_reader_for=stored_reader_for,
            mapper=sealing(personal) if personal is not None else None,
        )
        shop = ShopGenerator(self.ledger)
        shop.generate(store_orders)
        self.bench = WriteBench.setup(self.ledger, self.pool, shop)
        self.runtime = ProjectionRuntime(self.ledger, self.pool)
        self.runtime.ensure()

    def checkout(self, orders: int, tag: str) -> float:
        result = self.bench.measure(orders=orders, repeats=1, tag=tag, warm=5)
        rate: float = result["runs"][0]["use_case_rate"]
        return rate

    def rebuild(self) -> float:
        started = time.perf_counter()
        self.runtime.rebuild("admin_orders")
        events = self.ledger.head
        return events / (time.perf_counter() - started)

    def mapping(self, events: list[Any]) -> float:
        """Order.Placed events mapped to stored form and back, per second (no I/O once
        the customers' keys are cached: what sealing adds to every write and read)."""
        mapper = self.ledger.mapper
        started = time.perf_counter()
        for event in events:
            mapper.to_domain_event(mapper.to_stored_event(event))
        return len(events) / (time.perf_counter() - started)

    def close(self) -> None:
        self.pool.close()
        self.ledger.close()


def placed_events(count: int) -> list[Any]:
    """Order.Placed events of ``count`` orders of 50 customers, with full addresses."""
    from datetime import UTC, datetime, timedelta

    from domain.order import Order
    from tests.unit.domain.builders import a_line

    now = datetime.now(UTC)
    return [
        Order.place(
            cart_id=f"cart_{n}",
            payment_intent_id=f"pi_map_{n}",
            region_id="reg_eu",
            sales_channel_id="sc_web",
            currency="eur",
            email=f"buyer{n % 50}@example.com",
            shipping_address={
                "first_name": "Ada",
                "last_name": f"Buyer {n % 50}",
                "address_1": "12 Analytical Row",
                "city": "London",
                "postal_code": "N1 9GU",
                "country_code": "gb",
                "phone": "+44 20 7946 0000",
            },
            lines=[a_line("line_1"), a_line("line_2")],
            shipping=None,
            editable_until=now + timedelta(hours=1),
            access_token_hash="sha256:abc",
            placed_by="bench",
            now=now,
        ).collect_events()[0]
        for n in range(count)
    ]


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    host = machine()
    rates: dict[str, dict[str, list[float]]] = {
        s: {"checkout": [], "rebuild": [], "mapping": []} for s in SIDES
    }
    with ExitStack() as stack:
        sides: dict[str, Side] = {}
        for side in SIDES:
            url = stack.enter_context(bench_database(f"pii_{side.replace('+', '_')}"))
            with phase(f"{side}: a store of {args.store_orders} orders"):
                sides[side] = Side(side, url, args.store_orders)
            stack.callback(sides[side].close)
        placed = placed_events(2_000)
        for repeat in range(args.repeats):
            order = SIDES[repeat % 3 :] + SIDES[: repeat % 3]
            for side in order:
                rates[side]["checkout"].append(sides[side].checkout(args.orders, f"r{repeat}"))
                rates[side]["rebuild"].append(sides[side].rebuild())
                rates[side]["mapping"].append(sides[side].mapping(placed))
            console.log(
                f"run {repeat + 1}: "
                + ", ".join(
                    f"{s} {rates[s]['checkout'][-1]:,.0f} orders/s "
                    f"{rates[s]['rebuild'][-1]:,.0f} events/s rebuilt"
                    for s in SIDES
                )
            )
    figures: list[dict[str, Any]] = []
    for side in SIDES[1:]:
        for what, unit in (
            ("checkout", "orders/s"),
            ("rebuild", "events/s"),
            ("mapping", "events/s"),
        ):
            runs, plain = rates[side][what], rates["plain"][what]
            figures.append(
                figure(
                    NAME,
                    f"{what} ({LABELS[what]}), {side}",
                    runs,
                    unit,
                    baseline="plain (personal fields in clear), same run",
                    baseline_runs=plain,
                    note=f"median of {len(runs)}; plain {median(plain):,.0f} {unit}",
                )
            )
    write_results(NAME, host, figures, rates=rates)
    print_table(figures, title="Personal data sealed: cost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
