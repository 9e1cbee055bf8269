"""What the run was told happened: the acknowledged requests, and what was only attempted."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

# (kind, weight): what a shop sees, and the faults in between.
SHOP = {
    "checkout": 14,
    "checkout_medusa": 6,
    "checkout_webhook_first": 4,
    "decline": 3,
    "duplicate_webhook": 4,
    "change_quantity": 6,
    "admin_capture": 5,
    "cancel": 4,
    "refund": 6,
    "refund_at_stripe": 4,
    "dispute": 2,
    "stock_adjust": 4,
    "review": 3,
    "jump_past_grace": 2,
}
FAULTS = {
    "cut_database": 1,
    "kill_redis": 1,
    "kill_worker": 1,
    "restart_api": 1,
    "stripe_500": 1,
    "stripe_timeout": 1,
}
FAULT_EVERY = 12  # on average one fault among this many operations


@dataclass(frozen=True)
class Op:
    kind: str
    arg: int  # a seeded number the operation picks its order, amount or quantity from

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}"


def parse_op(text: str) -> Op:
    kind, _, arg = text.partition(":")
    return Op(kind, int(arg))


def operations(seed: int) -> OpStream:
    return OpStream(random.Random(seed))


@dataclass
class OpStream:
    rng: random.Random

    def next(self) -> Op:
        table = FAULTS if self.rng.random() < 1 / FAULT_EVERY else SHOP
        kinds = list(table)
        kind = self.rng.choices(kinds, weights=[table[k] for k in kinds])[0]
        return Op(kind, self.rng.randrange(1 << 30))

    def take(self, n: int) -> list[Op]:
        return [self.next() for _ in range(n)]


@dataclass
class Placed:
    order_id: UUID
    intent_id: str
    email: str
    token: str
    surface: str
    refunds_acked: int = 0  # by the admin API, answered 200, or made at Stripe
    refunds_unsure: int = 0  # asked for, answer lost (may or may not have happened)
    canceled: bool = False  # a cancel was acknowledged
    captured: bool = False  # an admin capture was acknowledged
    disputed: bool = False
    amounts: set[int] = field(default_factory=set)  # refund amounts asked: each e-mail differs

    def refund_amount(self, wanted: int) -> int:
        while wanted in self.amounts:
            wanted += 1
        self.amounts.add(wanted)
        return wanted


@dataclass
class Model:
    orders: list[Placed] = field(default_factory=list)
    declined: list[str] = field(default_factory=list)  # PaymentIntents never to be orders
    withheld_webhooks: int = 0  # facts at Stripe the ledger may learn only by reconcile
    outcomes: Counter[str] = field(default_factory=Counter)  # "kind ok" / "kind 409" ...
    faults: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    buyers: int = 0

    def pick(self, arg: int) -> Placed | None:
        return self.orders[arg % len(self.orders)] if self.orders else None

    def recent(self, arg: int) -> Placed | None:
        """One of the last three orders: likely still in its grace period."""
        if not self.orders:
            return None
        return self.orders[-1 - arg % min(3, len(self.orders))]

    def email(self) -> str:
        self.buyers += 1
        return f"buyer-{self.buyers}@example.com"
