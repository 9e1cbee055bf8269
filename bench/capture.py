"""How late delayed capture runs: from the due time to the recorded capture.

    python -m bench.capture [--orders 200] [--grace 2] [--sweep 1] [--paced-rate 40]

In a fresh database ``orderledger_bench_capture`` on DATABASE_URL's server
(created and dropped here) and against a localstripe emulator started here,
``--orders`` orders are placed as checkout places them — cart, order, authorized
payment collection and stock reservation in one ``Ledger.save_all`` — each on a
real PaymentIntent authorized (``capture_method=manual``) at the emulator. The
real ``Worker`` runs meanwhile: its process manager records ``CaptureScheduled``
(due = authorized + grace) and the captures hit the emulator. Each regime — a
burst (orders saved as fast as the ledger takes them) and a steady
``--paced-rate`` orders/s — runs twice:

* with Redis (``BENCH_REDIS_URL``, default db 13): expiring timers + the
  keyspace listener, the sweeper at its production interval behind them;
* without Redis (``redis_url`` unset): the sweeper alone, every ``--sweep`` s.

An order's delay is its ``CaptureSucceeded`` timestamp minus the ``due_at`` of
its ``CaptureScheduled``, both read back from the event store.
"""

import argparse
import json
import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import redis
import stripe
from rich.console import Console
from rich.table import Table

from bench.common import drop_database, recreate_database
from commands.capture import CaptureOutcome
from domain.cart import Cart
from domain.ids import order_id_for, payment_collection_id_for
from domain.inventory_level import InventoryLevel
from domain.lines import Line, Shipping, totals_of
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.container import Container, build_container
from infra.settings import Settings
from infra.stripe_emulator import RunningEmulator, start_emulator
from infra.worker import Worker

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
BENCH_DB = "orderledger_bench_capture"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results-capture.json"

REDIS_P99_TARGET = 1.0  # seconds after the due time
SWEEP_MARGIN = 1.0  # sweeper-only target: its interval + this
WAIT_AFTER_LAST_DUE = 40.0  # give up on captures this long after the last due time

CURRENCY = "eur"
LOCATION = "loc_bench"
VARIANTS = 100
SHIPPING = Shipping(option_id="so_standard", name="Standard", amount=495, tax_rate_bp=2000)
API_KEY = "sk_test_bench"

console = Console(stderr=True)


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.capture", description=__doc__)
    parser.add_argument("--orders", type=int, default=200, help="orders per run (200)")
    parser.add_argument("--grace", type=int, default=2, help="capture grace, seconds (2)")
    parser.add_argument(
        "--redis-sweep",
        type=float,
        default=Settings().capture_sweep_seconds,
        help="sweeper interval in the Redis run (the production default)",
    )
    parser.add_argument(
        "--sweep", type=float, default=1.0, help="sweeper interval without Redis (1)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="orders per second in the first regime (default 0: a burst, as fast as saved)",
    )
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=40.0,
        help="orders per second in the second regime (40; 0 skips it)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    return parser.parse_args(argv)


# --- the database and the emulator ------------------------------------------------------


@contextmanager
def _emulator() -> Iterator[RunningEmulator]:
    emulator = start_emulator()
    try:
        yield emulator
    finally:
        emulator.stop()


@dataclass(frozen=True)
class Authorized:
    cart_id: UUID
    intent_id: str
    quantity: int


def _lines(quantity: int, index: int) -> list[Line]:
    """One line; orders spread over ``VARIANTS`` variants (stock levels), as a shop's do."""
    return [
        Line(
            id="line_1",
            variant_id=f"variant_{index % VARIANTS:03d}",
            title="T-shirt",
            quantity=quantity,
            unit_price=2500,
            tax_rate_bp=2000,
            location_id=LOCATION,
        )
    ]


def _authorize(emulator: RunningEmulator, run: str, orders: int) -> list[Authorized]:
    """``orders`` PaymentIntents authorized at the emulator (before the clock starts)."""
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    authorized = []
    for index in range(orders):
        quantity = 1 + index % 3
        cart_id = uuid5(NAMESPACE_URL, f"bench-capture:{run}:{index}")
        intent = client.v1.payment_intents.create(
            params={
                "amount": totals_of(_lines(quantity, index), SHIPPING).total,
                "currency": CURRENCY,
                "capture_method": "manual",
                "payment_method": method.id,
                "confirm": True,
                "metadata": {"cart_id": str(cart_id)},
            }
        )
        if intent.status != "requires_capture":
            raise RuntimeError(f"the emulator left {intent.id} {intent.status}")
        authorized.append(Authorized(cart_id, intent.id, quantity))
    return authorized


# --- one run --------------------------------------------------------------------------


@dataclass
class Calls:
    """Who delivered each due capture (listener or sweeper), and what came of it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    delivered_by: dict[UUID, str] = field(default_factory=dict)
    deliveries: Counter[str] = field(default_factory=Counter)
    woken: dict[UUID, float] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    captured: set[UUID] = field(default_factory=set)
    done: threading.Event = field(default_factory=threading.Event)
    expected: int = 0

    def delivered(self, order_id: UUID) -> None:
        source = threading.current_thread().name.removeprefix("capture-")
        with self.lock:
            self.deliveries[source] += 1
            if order_id not in self.delivered_by:
                self.delivered_by[order_id] = source
                self.woken[order_id] = time.time()


class MeasuredWorker(Worker):
    """The production worker; only notes who delivered each capture and its outcome."""

    def __init__(self, container: Container, calls: Calls, **kwargs: Any) -> None:
        super().__init__(container, **kwargs)
        self.calls = calls

    def _submit_capture(self, order_id: UUID) -> None:
        # Called by the listener and the sweeper threads (captures run in a pool).
        self.calls.delivered(order_id)
        super()._submit_capture(order_id)

    def capture_due(self, order_id: UUID) -> object:
        outcome = super().capture_due(order_id)
        status = outcome.status if isinstance(outcome, CaptureOutcome) else "?"
        calls = self.calls
        with calls.lock:
            calls.outcomes[status] += 1
            if status == "captured":
                calls.captured.add(order_id)
                if len(calls.captured) >= calls.expected:
                    calls.done.set()
        return outcome


def _place(container: Container, authorized: list[Authorized], rate: float) -> list[UUID]:
    """Place every order as checkout does: one ``save_all`` per order (``rate`` per s)."""
    ledger = container.ledger
    grace = container.services.policy.capture.grace
    levels: dict[str, InventoryLevel] = {}
    orders = []
    started = time.monotonic()
    for index, auth in enumerate(authorized):
        if rate > 0:
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
        now = datetime.now(UTC)
        order_id = order_id_for(auth.intent_id)
        lines = _lines(auth.quantity, index)
        variant = lines[0].variant_id
        level = levels.get(variant) or InventoryLevel.stock(
            item_id=variant,
            location_id=LOCATION,
            stocked_quantity=1_000_000,
            allow_backorder=False,
            now=now,
        )
        levels[variant] = level
        cart = Cart.start(
            cart_id=auth.cart_id,
            region_id="reg_eu",
            sales_channel_id="sc_web",
            currency=CURRENCY,
            email=f"customer{index}@example.com",
            now=now - timedelta(minutes=2),
        )
        cart.add_line(line_id="line_1", variant_id=variant, quantity=auth.quantity, now=now)
        total = totals_of(lines, SHIPPING).total
        cart.start_payment_session(auth.intent_id, total, now=now)
        level.reserve(auth.quantity, order_id=str(order_id), line_id="line_1", now=now)
        order = Order.place(
            cart_id=str(cart.id),
            payment_intent_id=auth.intent_id,
            region_id="reg_eu",
            sales_channel_id="sc_web",
            currency=CURRENCY,
            email=cart.email,
            shipping_address=None,
            lines=lines,
            shipping=SHIPPING,
            editable_until=now + grace,
            access_token_hash=f"{index:064x}",
            placed_by="storefront",
            now=now,
        )
        payment = PaymentCollection.open(
            order_id=order_id,
            amount=Money(order.total, CURRENCY),
            payment_intent_id=auth.intent_id,
            now=now,
        )
        payment.authorize(order.total, reference=auth.intent_id, capture_before=None, now=now)
        cart.complete(order_id=str(order_id), payment_intent_id=auth.intent_id, now=now)
        ledger.save_all(order, payment, cart, level)
        orders.append(order_id)
    return orders


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def _run(
    name: str,
    server_url: str,
    emulator: RunningEmulator,
    *,
    redis_url: str | None,
    orders: int,
    grace: int,
    sweep: float,
    rate: float,
) -> dict[str, Any]:
    console.print(f"[bold]{name}[/]: authorizing {orders} PaymentIntents at localstripe …")
    authorized = _authorize(emulator, name, orders)
    database_url = recreate_database(server_url, BENCH_DB)
    if redis_url is not None:
        redis.Redis.from_url(redis_url).flushdb()  # our own db index only
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        stripe_api_key=API_KEY,
        stripe_api_base=emulator.url,
        capture_grace_seconds=grace,
        capture_sweep_seconds=sweep,
    )
    if settings.redis_url != redis_url:
        raise RuntimeError("REDIS_URL from the environment overrode the bench's setting")
    container = build_container(settings)
    calls = Calls(expected=orders)
    worker = MeasuredWorker(container, calls, sweep_seconds=sweep)
    try:
        worker.start()
        console.print(f"[bold]{name}[/]: placing {orders} orders …")
        started = time.monotonic()
        order_ids = _place(container, authorized, rate)
        placing = time.monotonic() - started
        calls.done.wait(max(0.0, grace + WAIT_AFTER_LAST_DUE - placing))
        waited = time.monotonic() - started
        worker.stop()
        delays, wakes, scheduling, captures = [], [], [], []
        first_due = last_due = None
        for order_id in order_ids:
            timeline = _timeline(container, order_id)
            if timeline is None:
                continue
            authorized_at, scheduled_at, due, captured_at = timeline
            first_due = due if first_due is None else min(first_due, due)
            last_due = due if last_due is None else max(last_due, due)
            delays.append((captured_at - due).total_seconds())
            captures.append(captured_at.timestamp())
            scheduling.append((scheduled_at - authorized_at).total_seconds())
            if order_id in calls.woken:
                wakes.append(calls.woken[order_id] - due.timestamp())
        missing = len(order_ids) - len(delays)
        stripe_captured = _captured_at_stripe(emulator, [a.intent_id for a in authorized])
    finally:
        worker.stop()
        container.close()
    spread = (last_due - first_due).total_seconds() if first_due and last_due else 0.0
    result = {
        "orders": orders,
        "captured": len(delays),
        "missing": missing,
        "captured_at_stripe": stripe_captured,
        "placing_seconds": round(placing, 3),
        "due_spread_seconds": round(spread, 3),
        "wall_seconds": round(waited, 3),
        "sweep_seconds": sweep,
        "p50_seconds": round(_percentile(delays, 0.50), 3),
        "p99_seconds": round(_percentile(delays, 0.99), 3),
        "max_seconds": round(max(delays, default=float("nan")), 3),
        "mean_seconds": round(statistics.fmean(delays), 3) if delays else None,
        "scheduled_after_authorized_p99_seconds": round(_percentile(scheduling, 0.99), 3),
        "captures_per_second": (
            round((len(captures) - 1) / (max(captures) - min(captures)), 1)
            if len(captures) > 1
            else None
        ),
        "wake_p50_seconds": round(_percentile(wakes, 0.50), 3),
        "wake_p99_seconds": round(_percentile(wakes, 0.99), 3),
        "first_delivered_by": dict(Counter(calls.delivered_by.values())),
        "deliveries": dict(calls.deliveries),
        "outcomes": dict(calls.outcomes),
    }
    console.print(
        f"[bold]{name}[/]: p50 {result['p50_seconds']} s, p99 {result['p99_seconds']} s, "
        f"{len(delays)}/{orders} captured"
    )
    return result


def _timeline(
    container: Container, order_id: UUID
) -> tuple[datetime, datetime, datetime, datetime] | None:
    """Authorized, scheduled (the process manager's decision), due and captured times."""
    events = container.ledger.repository.event_store.get(payment_collection_id_for(order_id))
    authorized = scheduled = due = captured = None
    for event in events:
        if isinstance(event, PaymentCollection.Authorized):
            authorized = event.timestamp
        elif isinstance(event, PaymentCollection.CaptureScheduled):
            scheduled, due = event.timestamp, event.due_at
        elif isinstance(event, PaymentCollection.CaptureSucceeded):
            captured = event.timestamp
    if authorized is None or scheduled is None or due is None or captured is None:
        return None
    return authorized, scheduled, due, captured


def _captured_at_stripe(emulator: RunningEmulator, intent_ids: list[str]) -> int:
    client = stripe.StripeClient(API_KEY, base_addresses={"api": emulator.url})
    return sum(
        1 for pi in intent_ids if client.v1.payment_intents.retrieve(pi).status == "succeeded"
    )


# --- report ---------------------------------------------------------------------------


def _regimes(args: argparse.Namespace) -> list[tuple[str, float]]:
    regimes = [(f"{args.rate:g}/s" if args.rate > 0 else "burst", args.rate)]
    if args.paced_rate > 0:
        regimes.append((f"{args.paced_rate:g}/s", args.paced_rate))
    return regimes


def _rows(runs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per figure: p50 and p99 for every regime, with and without Redis."""
    rows = []
    for key, run in runs.items():
        regime, mode = key.rsplit(" ", 1)
        if mode == "redis":
            path, target = "Redis timers", REDIS_P99_TARGET
        else:
            path = f"sweeper only ({run['sweep_seconds']:g} s)"
            target = run["sweep_seconds"] + SWEEP_MARGIN
        for figure, target_of in (("p50", None), ("p99", target)):
            value = run[f"{figure}_seconds"]
            rows.append(
                {
                    "run": key,
                    "regime": f"{regime}: {run['orders']} in {run['placing_seconds']:.1f} s",
                    "path": path,
                    "figure": figure,
                    "seconds": value,
                    "target": target_of,
                    "ok": run["complete"] and (target_of is None or value <= target_of),
                }
            )
    return rows


def _table(rows: list[dict[str, Any]], runs: dict[str, dict[str, Any]], grace: int) -> None:
    table = Table(title=f"Delay from due time to recorded capture (grace {grace} s)")
    for column in ("orders placed", "capture path", "", "seconds", "target", ""):
        table.add_column(column, justify="right" if column in ("seconds", "target") else "left")
    for row in rows:
        target = "—" if row["target"] is None else f"≤ {row['target']:g}"
        mark = "[green]ok[/]" if row["ok"] else "[red]missed[/]"
        table.add_row(
            row["regime"], row["path"], row["figure"], f"{row['seconds']:.3f}", target, mark
        )
    console.print(table)
    for key, run in runs.items():
        console.print(
            f"{key}: captured {run['captured']}/{run['orders']} (at Stripe "
            f"{run['captured_at_stripe']}), first delivered by {run['first_delivered_by']}; "
            f"scheduled ≤ {run['scheduled_after_authorized_p99_seconds']} s after "
            f"authorization (p99); {run['captures_per_second']} captures/s"
        )


def _main(args: argparse.Namespace) -> int:
    server_url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    redis_url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    started = time.monotonic()
    runs: dict[str, dict[str, Any]] = {}
    try:
        with _emulator() as emulator:
            for regime, rate in _regimes(args):
                for mode, url, sweep in (
                    ("redis", redis_url, args.redis_sweep),
                    ("sweeper", None, args.sweep),
                ):
                    run = _run(
                        f"{regime} {mode}",
                        server_url,
                        emulator,
                        redis_url=url,
                        orders=args.orders,
                        grace=args.grace,
                        sweep=sweep,
                        rate=rate,
                    )
                    run["complete"] = run["captured"] == run["orders"] == run["captured_at_stripe"]
                    runs[f"{regime} {mode}"] = run
    finally:
        if not args.keep:
            drop_database(server_url, BENCH_DB)
    rows = _rows(runs)
    _table(rows, runs, args.grace)
    args.output.write_text(
        json.dumps(
            {
                "grace_seconds": args.grace,
                "orders": args.orders,
                "runs": runs,
                "summary": rows,
                "total_seconds": round(time.monotonic() - started, 1),
            },
            indent=2,
        )
        + "\n"
    )
    console.print(f"wrote {args.output} in {time.monotonic() - started:.0f} s")
    # A missed latency target is a finding; a capture missing or doubled is a failure.
    return 0 if all(run["complete"] for run in runs.values()) else 1


def main(argv: list[str] | None = None) -> int:
    return _main(_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
