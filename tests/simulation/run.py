"""One run: operations from a seed, faults among them, the oracle after every phase; on a
failure, the shortest operation log that still fails (shrunk by halving)."""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from tests.simulation import oracle
from tests.simulation.model import FAULTS, Model, Op, operations
from tests.simulation.shop import Storefront
from tests.simulation.world import World, world

PHASE = 60  # operations between two oracle checks
STRIPE_FAULT_OPS = 3  # Stripe answers 500 / times out for this many operations


@dataclass
class Outcome:
    seed: int
    log: list[Op] = field(default_factory=list)
    model: Model = field(default_factory=Model)
    failure: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failure is None


def apply(op: Op, shop: Storefront, model: Model) -> None:
    w: World = shop.world
    if op.kind in FAULTS:
        model.faults[op.kind] += 1
    match op.kind:
        case "checkout":
            shop.checkout(op)
        case "checkout_webhook_first":
            shop.checkout(op, webhook_first=True)
        case "decline":
            from tests.e2e.conftest import DECLINED_CARD

            shop.checkout(op, card=DECLINED_CARD)
        case "checkout_medusa":
            shop.checkout_medusa(op)
        case "duplicate_webhook":
            shop.duplicate_webhook(op)
        case "change_quantity":
            shop.change_quantity(op)
        case "admin_capture" | "cancel":
            shop.admin_act(op)
        case "refund":
            shop.refund(op)
        case "refund_at_stripe":
            shop.refund_at_stripe(op)
        case "dispute":
            shop.dispute(op)
        case "stock_adjust":
            shop.stock_adjust(op)
        case "review":
            shop.review(op)
        case "jump_past_grace":
            shop.jump_past_grace(op)
        case "cut_database":
            w.cut_database()
        case "kill_redis":
            w.kill_redis()
        case "kill_worker":
            w.kill_worker()
            w.start_worker()
        case "restart_api":
            w.restart_api()
        case "stripe_500" | "stripe_timeout":
            w.switch.mode = "error" if op.kind == "stripe_500" else "timeout"
            shop.stripe_faults_left = STRIPE_FAULT_OPS
        case _:
            raise ValueError(f"no such operation: {op.kind}")


def tick_stripe(op: Op, shop: Storefront) -> None:
    if op.kind.startswith("stripe_"):
        return
    if shop.stripe_faults_left:
        shop.stripe_faults_left -= 1
        if not shop.stripe_faults_left:
            shop.world.switch.mode = "ok"


def execute(
    database_url: str,
    seed: int,
    next_op: Callable[[int], Op | None],
    progress: Callable[[int, Model], None] | None = None,
) -> Outcome:
    """Run operations until ``next_op`` answers None; the oracle every PHASE and at the end."""
    outcome = Outcome(seed)
    started = time.monotonic()
    try:
        with world(database_url) as w:
            shop = Storefront(w, outcome.model)
            while (op := next_op(len(outcome.log))) is not None:
                outcome.log.append(op)
                apply(op, shop, outcome.model)
                tick_stripe(op, shop)
                if progress is not None:
                    progress(len(outcome.log), outcome.model)
                if len(outcome.log) % PHASE == 0:
                    w.switch.mode, shop.stripe_faults_left = "ok", 0
                    oracle.check(outcome.model, shop)
            w.switch.mode = "ok"
            oracle.check(outcome.model, shop)
    except Exception as error:
        outcome.failure = f"{type(error).__name__}: {error}"
        outcome.failure += "\n" + "".join(traceback.format_exception(error)[-6:])
    outcome.seconds = time.monotonic() - started
    return outcome


def from_seed(seed: int, count: int | None, minutes: float | None) -> Callable[[int], Op | None]:
    stream = operations(seed)
    until = time.monotonic() + minutes * 60 if minutes else None

    def next_op(done: int) -> Op | None:
        if count is not None and done >= count:
            return None
        if until is not None and time.monotonic() >= until:
            return None
        return stream.next()

    return next_op


def replaying(log: list[Op]) -> Callable[[int], Op | None]:
    return lambda done: log[done] if done < len(log) else None


def shrink(
    database_url: str, seed: int, log: list[Op], budget_seconds: float, out: TextIO = sys.stderr
) -> list[Op]:
    """Drop halves, then quarters, ... of the log while the run still fails (bounded)."""
    deadline = time.monotonic() + budget_seconds
    chunk = len(log) // 2
    while chunk >= 1 and time.monotonic() < deadline:
        start, shrunk = 0, False
        while start < len(log) and time.monotonic() < deadline:
            candidate = log[:start] + log[start + chunk :]
            if candidate and not execute(database_url, seed, replaying(candidate)).ok:
                log, shrunk = candidate, True
                print(f"  shrunk to {len(log)} operations", file=out, flush=True)
            else:
                start += chunk
        if not shrunk:
            chunk //= 2
    return log
