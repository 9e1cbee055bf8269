"""Reconcile over many orders against the fault suite's Stripe stand-in.

    python -m bench.reconcile [--orders 10000] [--runs 3]

Seeds N captured orders in a throwaway database (``orderledger_bench_reconcile``)
and the same N PaymentIntents at the stand-in (localstripe behind
``tests.faults.faithful_stripe``: created, confirmed with a test card, captured;
localstripe with its store indexed, see ``bench.indexed_localstripe``),
one in a hundred with a refund made "at Stripe" that the ledger has not heard of.
Then, in the same run:

* baseline: the stand-in's own list rate, every PaymentIntent of the window read
  with the SDK's auto-pagination and nothing else (what reconcile cannot beat);
* reconcile: the whole run (lists, ledger loads, comparison, recording), in
  collections per second. The first run records the refunds; the later ones find
  nothing (they are what an hourly duty costs once the books agree).
"""

import argparse
import itertools
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx

from bench import indexed_localstripe
from bench.common import bench_database, figure, machine, median, phase, write_results
from commands.reconcile.run import ReconcilePolicy, reconcile
from domain.ids import order_id_for
from domain.money import Money
from domain.payment_collection import PaymentCollection
from infra.container import build_container
from infra.settings import Settings
from infra.stripe_records import StripeRecordsReader
from tests.faults.faithful_stripe import faithful_stripe
from tests.unit.domain.builders import a_line, place_order

AUTH = {"Authorization": "Bearer sk_test_bench"}
REFUND_EVERY = 100


class Seeded:
    """The ledger's side of the window: the orders the bench placed."""

    def __init__(self) -> None:
        self.orders: list[tuple[UUID, str]] = []

    def placed_since(self, since: datetime) -> list[tuple[UUID, str]]:
        return self.orders


def _hold_and_capture(client: httpx.Client, method: str, amount: int) -> str:
    created = client.post(
        "/v1/payment_intents",
        data={
            "amount": amount,
            "currency": "eur",
            "capture_method": "manual",
            "payment_method": method,
            "confirm": "true",
            "metadata[cart_id]": str(uuid4()),
        },
    )
    created.raise_for_status()
    intent_id = str(created.json()["id"])
    client.post(f"/v1/payment_intents/{intent_id}/capture").raise_for_status()
    return intent_id


def seed_stripe(url: str, amounts: list[int]) -> list[str]:
    with httpx.Client(base_url=url, headers=AUTH, timeout=60.0) as client:
        method = client.post(
            "/v1/payment_methods",
            data={
                "type": "card",
                "card[number]": "4242424242424242",
                "card[exp_month]": "12",
                "card[exp_year]": "2030",
                "card[cvc]": "123",
            },
        )
        method.raise_for_status()
        pm = str(method.json()["id"])
    clients = itertools.cycle(
        [httpx.Client(base_url=url, headers=AUTH, timeout=60.0) for _ in range(8)]
    )
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda a: _hold_and_capture(next(clients), pm, a), amounts))


def seed_ledger(container: object, intents: list[str], prices: list[int]) -> list[tuple[UUID, str]]:
    ledger = container.ledger  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    placed = []
    batch: list[object] = []
    for intent_id, price in zip(intents, prices, strict=True):
        order = place_order([a_line(unit_price=price)], payment_intent_id=intent_id, now=now)
        payment = PaymentCollection.open(
            order_id=order.id,
            amount=Money(order.total, "eur"),
            payment_intent_id=intent_id,
            now=now,
        )
        payment.authorize(order.total, reference=intent_id, capture_before=None, now=now)
        payment.capture(order.total, reference=intent_id, now=now)
        order.mark_captured(order.total, now=now)
        batch += [order, payment]
        placed.append((order_id_for(intent_id), intent_id))
        if len(batch) >= 400:
            ledger.save_all(*batch)
            batch = []
    if batch:
        ledger.save_all(*batch)
    return placed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.reconcile", description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    host = machine()
    emulator = indexed_localstripe.start()
    try:
        with faithful_stripe(emulator.url) as stand_in, bench_database("reconcile") as url:
            since = datetime.now(UTC) - timedelta(seconds=5)
            # The PaymentIntent holds exactly the order's total (with its tax).
            prices = [1000 + i % 500 for i in range(args.orders)]
            amounts = [place_order([a_line(unit_price=p)]).total for p in prices]
            with phase(f"seeding {args.orders:,} PaymentIntents at the stand-in"):
                intents = seed_stripe(stand_in.url, amounts)
            settings = Settings(
                database_url=url,
                stripe_api_key="sk_test_bench",
                stripe_api_base=stand_in.url,
                reconcile_every=0,
            )
            container = build_container(settings)
            try:
                with phase(f"seeding {args.orders:,} captured orders in the ledger"):
                    seeded = Seeded()
                    seeded.orders = seed_ledger(container, intents, prices)
                for intent_id in intents[::REFUND_EVERY]:
                    stand_in.money.refund_at_stripe(intent_id, 100)
                records = StripeRecordsReader("sk_test_bench", stand_in.url)
                list_runs, reconcile_runs, recorded = [], [], []
                for run in range(args.runs):
                    started = time.perf_counter()
                    listed = sum(1 for _ in records.payments_since(since))
                    list_runs.append(listed / (time.perf_counter() - started))
                    started = time.perf_counter()
                    report = reconcile(
                        container.services,
                        records,
                        seeded,
                        since=since,
                        policy=ReconcilePolicy(),
                    )
                    seconds = time.perf_counter() - started
                    reconcile_runs.append(report.collections / seconds)
                    recorded.append(sum(f.action == "recorded" for f in report.findings))
                    print(
                        f"run {run + 1}: listed {listed:,} at {list_runs[-1]:,.0f}/s; reconciled "
                        f"{report.collections:,} collections in {seconds:.1f} s "
                        f"({reconcile_runs[-1]:,.0f}/s), {recorded[-1]} recorded, "
                        f"{len(report.reported)} reported"
                    )
                    assert report.ok, [f.as_json() for f in report.reported[:5]]
            finally:
                container.close()
    finally:
        emulator.stop()
    figures = [
        figure(
            "reconcile",
            f"reconcile over {args.orders:,} captured orders",
            reconcile_runs,
            "collections/s",
            baseline="the stand-in's own PaymentIntent list rate (SDK auto-pagination)",
            baseline_runs=list_runs,
            note=f"runs record {recorded} facts (1 in {REFUND_EVERY} refunded at Stripe first)",
        )
    ]
    write_results(
        "reconcile",
        host,
        figures,
        orders=args.orders,
        list_rate=median(list_runs),
        recorded_per_run=recorded,
    )


if __name__ == "__main__":
    main()
