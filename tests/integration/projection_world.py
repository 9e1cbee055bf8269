"""Shared pieces for the projection tests: a fresh database, shop histories, view snapshots.

The views live in one database per test module (a module's tests share it), so each
helper that builds history uses fresh ids and assertions name their own orders.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.rows import dict_row

from commands.ledger import Ledger
from domain.inventory_level import InventoryLevel
from domain.lines import Line
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.database import event_store_env
from infra.pg import Pool, open_pool
from infra.projection_runtime import ProjectionRuntime
from infra.schema import create_tables
from infra.view_store import VIEWS
from projections.base import Projector
from projections.catalogue import all_projectors
from tests.databases import fresh_database as a_database
from tests.unit.domain.builders import NOW, a_line, a_shipping, later, place_order

PROJECTIONS = [p.name for p in all_projectors()]


def fresh_database(database_url: str) -> contextlib.AbstractContextManager[str]:
    """A new, empty database on the server behind ``database_url``; dropped afterwards."""
    return a_database(database_url, "orderledger_views")


@dataclass
class Shop:
    """The event store, our own pool, and the views' tables, on one database."""

    url: str
    ledger: Ledger
    pool: Pool

    def runtime(self, **kwargs: Any) -> ProjectionRuntime:
        """A runtime with its own projector instances (as another worker process has)."""
        runtime = ProjectionRuntime(self.ledger, self.pool, **kwargs)
        runtime.ensure()
        return runtime

    def close(self) -> None:
        self.pool.close()
        self.ledger.close()


@contextlib.contextmanager
def open_shop(url: str) -> Iterator[Shop]:
    pool = open_pool(url)
    create_tables(pool)
    shop = Shop(url, Ledger(env=event_store_env(url)), pool)
    try:
        shop.runtime()
        yield shop
    finally:
        shop.close()


# --- views -----------------------------------------------------------------------------


def stable_names(projector: Projector) -> list[tuple[str, str]]:
    """(stable SQL view name, key column) of each of the projector's tables."""
    first = projector.tables[0]
    return [
        (t.name if t is first else f"{projector.name}__{t.name}", t.key) for t in projector.tables
    ]


def snapshot(pool: Pool, projector: Projector) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table of a projection, read through its stable names, by key."""
    tables = {}
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        for view, key in stable_names(projector):
            cur.execute(
                sql.SQL("SELECT * FROM {} ORDER BY {}").format(
                    sql.Identifier(VIEWS, view), sql.Identifier(key)
                )
            )
            tables[view] = cur.fetchall()
    return tables


def rows_for(pool: Pool, view: str, column: str, ids: list[Any]) -> list[dict[str, Any]]:
    with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            sql.SQL("SELECT * FROM {} WHERE {} = ANY(%s)").format(
                sql.Identifier(VIEWS, view), sql.Identifier(column)
            ),
            (ids,),
        )
        return cur.fetchall()


def positions(pool: Pool) -> dict[str, int]:
    """Live tracking position of each projection."""
    with pool.connection() as conn:
        rows = conn.execute(
            f"SELECT r.projection, t.position FROM {VIEWS}.registry r JOIN {VIEWS}.tracking t "
            "ON t.projection = r.projection AND t.generation = r.generation"
        ).fetchall()
    return {name: int(position) for name, position in rows}


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``condition`` (bounded); True as soon as it holds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() >= deadline:
            return False
        pause.wait(0.01)
    return True


# --- shop histories ----------------------------------------------------------------------


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass
class Sale:
    """One order and its payment collection, changed together as the application does."""

    order: Order
    payment: PaymentCollection
    clock: Callable[[], datetime]
    line_counter: int = field(default=0)

    @property
    def order_id(self) -> UUID:
        return self.order.id

    @classmethod
    def place(
        cls,
        lines: list[Line] | None = None,
        *,
        shipping: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> Sale:
        """An order placed and its payment authorized for exactly its total."""
        tick = clock or (lambda: later(minutes=1))
        order = place_order(
            lines or [a_line("line_1", unit_price=1200, quantity=2)],
            shipping=a_shipping() if shipping else None,
            payment_intent_id=unique("pi"),
            now=NOW,
        )
        payment = PaymentCollection.open(
            order_id=order.id,
            amount=Money(order.total, order.currency),
            payment_intent_id=order.payment_intent_id,
            now=NOW,
        )
        payment.authorize(
            order.total, reference=unique("ch"), capture_before=later(days=7), now=NOW
        )
        return cls(order, payment, tick, line_counter=len(order.lines))

    @property
    def changeable(self) -> bool:
        return (
            self.order.status == "placed"
            and not self.payment.voided
            and not self.payment.is_captured
        )

    def _follow_total(self) -> None:
        # The payment follows the order's total; a higher total needs a bigger hold first.
        now = self.clock()
        total = self.order.total
        if total > self.payment.authorized:
            self.payment.increase_authorization(total, reference=unique("inc"), now=now)
        self.payment.change_amount(total, now=now)

    def add_line(self, unit_price: int, quantity: int, tax_rate_bp: int) -> bool:
        if not self.changeable:
            return False
        self.line_counter += 1
        line = a_line(
            f"line_{self.line_counter}",
            unit_price=unit_price,
            quantity=quantity,
            tax_rate_bp=tax_rate_bp,
        )
        self.order.add_line(line, changed_by="admin:test", now=self.clock())
        self._follow_total()
        return True

    def change_quantity(self, pick: int, quantity: int) -> bool:
        if not self.changeable:
            return False
        line_ids = sorted(self.order.lines)
        if quantity == 0 and len(line_ids) == 1:
            return False
        line_id = line_ids[pick % len(line_ids)]
        if quantity == self.order.lines[line_id].quantity:
            return False
        self.order.change_quantity(line_id, quantity, changed_by="admin:test", now=self.clock())
        self._follow_total()
        return True

    def schedule_capture(self, minutes: int) -> bool:
        if not self.changeable:
            return False
        self.payment.schedule_capture(later(hours=1, minutes=minutes), now=self.clock())
        return True

    def fail_capture(self, final: bool) -> bool:
        if not self.changeable:
            return False
        self.payment.record_capture_failure("card_declined", final=final, now=self.clock())
        return True

    def capture(self) -> bool:
        if not self.changeable:
            return False
        now = self.clock()
        amount = self.payment.amount
        self.payment.capture(amount, reference=unique("ch"), now=now)
        self.order.mark_captured(amount, now=now)
        return True

    def refund(self, share: float) -> bool:
        remaining = self.payment.captured - self.payment.refunded
        if not self.payment.is_captured or remaining <= 0:
            return False
        amount = max(1, min(remaining, round(remaining * share)))
        self.payment.refund(amount, reference=unique("re"), reason="return", now=self.clock())
        return True

    def cancel(self) -> bool:
        if not self.changeable:
            return False
        now = self.clock()
        self.order.cancel("customer asked", canceled_by="customer:ada", now=now)
        self.payment.void(reference=unique("void"), reason="order canceled", now=now)
        return True


def stock(stocked: int, *, allow_backorder: bool = False) -> InventoryLevel:
    return InventoryLevel.stock(
        item_id=unique("iitem"),
        location_id="loc_main",
        stocked_quantity=stocked,
        allow_backorder=allow_backorder,
        now=NOW,
    )


def reserve(level: InventoryLevel, quantity: int, now: datetime) -> bool:
    if not level.can_reserve(quantity):
        return False
    level.reserve(quantity, order_id=unique("order"), line_id="line_1", now=now)
    return True


def release(level: InventoryLevel, quantity: int, now: datetime) -> bool:
    quantity = min(quantity, level.reserved)
    if quantity <= 0:
        return False
    level.release(quantity, order_id=unique("order"), line_id="line_1", now=now)
    return True


class Clock:
    """Strictly increasing times from NOW, a second apart (inside an order's grace period)."""

    def __init__(self) -> None:
        self._seconds = 0

    def __call__(self) -> datetime:
        self._seconds += 1
        return NOW + timedelta(seconds=self._seconds)


def money_movements(*sales: Sale) -> int:
    """How many transaction entries the payments hold (one row each in order_transactions)."""
    return sum(len(sale.payment.transactions) for sale in sales)
