"""A realistic event store, written through the domain's own aggregates and ``Ledger.save_all``.

Each order goes the way checkout and the capture worker take it: a cart is
created, filled and completed; the order is placed with its stock reserved on a
few hundred inventory levels (one in ten may be backordered and runs short; the
shortfall is recorded a transaction later, as the process manager does); its
payment collection is opened, authorized and scheduled for capture. A later transaction then settles it, as the capture
worker would: most orders are captured (some after a failed attempt, some then
refunded), some change a line in the grace period first, some are canceled and
voided, a few stay scheduled. Stock is adjusted now and then.

Orders are saved in batches (several orders per ``save_all``, one transaction
each), and each order is settled in the batch after the one that placed it, so
the log interleaves placements with settlements as a live shop's would.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from commands.ledger import Ledger
from domain.cart import Cart
from domain.ids import order_id_for
from domain.inventory_level import InventoryLevel
from domain.lines import Line, Shipping
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection

CURRENCY = "eur"
LOCATIONS = ("loc_berlin", "loc_lyon")
VARIANTS = 200  # x 2 locations: 400 inventory levels
GRACE = timedelta(hours=1)
SHIPPING = Shipping(option_id="so_standard", name="Standard", amount=495, tax_rate_bp=1900)
TAX_RATES = (0, 700, 1900, 2000)
T0 = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


@dataclass
class _Placed:
    order: Order
    payment: PaymentCollection
    index: int


@dataclass
class ShopGenerator:
    """Writes orders ``0 .. n`` (``generate`` can be called again to continue)."""

    ledger: Ledger
    batch: int = 40
    seed: int = 20250106
    rng: random.Random = field(init=False)
    levels: dict[tuple[str, str], InventoryLevel] = field(init=False, default_factory=dict)
    prices: dict[str, tuple[int, int]] = field(init=False, default_factory=dict)
    placed: int = field(init=False, default=0)
    _unsettled: list[_Placed] = field(init=False, default_factory=list)
    _shortfalls: list[tuple[InventoryLevel, int, str, int, datetime]] = field(
        init=False, default_factory=list
    )

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        for v in range(VARIANTS):
            variant = f"variant_{v:03d}"
            self.prices[variant] = (self.rng.randrange(300, 15_000), self.rng.choice(TAX_RATES))
            for location in LOCATIONS:
                self.levels[(variant, location)] = InventoryLevel.stock(
                    item_id=variant,
                    location_id=location,
                    # One variant in ten may be backordered, and runs out early.
                    stocked_quantity=60 if v % 10 == 0 else 1_000_000,
                    allow_backorder=v % 10 == 0,
                    now=T0,
                )
        self.ledger.save_all(*self.levels.values())

    def generate(self, orders: int, progress: Callable[[int], None] | None = None) -> None:
        """Place ``orders`` more orders (settling the previous batch as it goes)."""
        target = self.placed + orders
        while self.placed < target:
            count = min(self.batch, target - self.placed)
            self._batch(count)
            if progress is not None:
                progress(self.placed)
        self.flush()

    def flush(self) -> None:
        """Settle every order placed so far."""
        touched: dict[UUID, Aggregate] = {}
        for placed in self._unsettled:
            self._settle(placed, touched)
        self._unsettled = []
        self._record_shortfalls(touched)
        self._save(touched)

    # --- one transaction -------------------------------------------------------------

    def _batch(self, count: int) -> None:
        touched: dict[UUID, Aggregate] = {}
        self._record_shortfalls(touched)  # those of the previous batch
        for placed in self._unsettled:
            self._settle(placed, touched)
        self._unsettled = []
        for _ in range(count):
            self._unsettled.append(self._place(self.placed, touched))
            self.placed += 1
        if self.placed % 2_000 < count:
            for level in self.rng.sample(list(self.levels.values()), 5):
                level.adjust(
                    self.rng.randrange(100, 1_000),
                    reason="restock",
                    adjusted_by="bench",
                    now=self._at(self.placed, minutes=1),
                )
                touched[level.id] = level
        self._save(touched)

    def _save(self, touched: dict[UUID, Aggregate]) -> None:
        aggregates = [a for a in touched.values() if a.pending_events]
        if aggregates:
            self.ledger.save_all(*aggregates)

    @staticmethod
    def _at(index: int, *, minutes: float = 0) -> datetime:
        return T0 + timedelta(seconds=15 * index, minutes=minutes)

    # --- an order's life -----------------------------------------------------------------

    def _place(self, index: int, touched: dict[UUID, Aggregate]) -> _Placed:
        rng = self.rng
        now = self._at(index)
        intent = f"pi_bench_{index:08d}"
        order_id = order_id_for(intent)
        cart = Cart.start(
            cart_id=uuid5(NAMESPACE_URL, f"bench-cart:{index}"),
            region_id="reg_eu",
            sales_channel_id="sc_web",
            currency=CURRENCY,
            email=f"customer{index}@example.com",
            shipping_address={
                "name": f"Customer {index}",
                "line1": f"{index % 300 + 1} Example Street",
                "city": "Berlin",
                "postal_code": f"{10_000 + index % 89_999}",
                "country": "DE",
            },
            now=now - timedelta(minutes=5),
        )
        variants = rng.sample(sorted(self.prices), rng.choice((2, 2, 3)))
        lines = []
        levels = []
        for n, variant in enumerate(variants):
            quantity = rng.choice((1, 1, 1, 2, 3))
            line_id = f"line_{n + 1}"
            cart.add_line(
                line_id=line_id,
                variant_id=variant,
                quantity=quantity,
                now=now - timedelta(minutes=4),
            )
            location = LOCATIONS[rng.random() < 0.3]
            level = self.levels[(variant, location)]
            self._reserve(level, quantity, str(order_id), line_id, now)
            levels.append(level)
            price, rate = self.prices[variant]
            lines.append(
                Line(
                    id=line_id,
                    variant_id=variant,
                    title=f"Product {variant}",
                    quantity=quantity,
                    unit_price=price,
                    tax_rate_bp=rate,
                    location_id=location,
                )
            )
        order = Order.place(
            cart_id=str(cart.id),
            payment_intent_id=intent,
            region_id="reg_eu",
            sales_channel_id="sc_web",
            currency=CURRENCY,
            email=cart.email,
            shipping_address=cart.shipping_address,
            lines=lines,
            shipping=SHIPPING,
            editable_until=now + GRACE,
            access_token_hash=f"{index:064x}",
            placed_by="webhook" if index % 2 else "storefront",
            now=now,
        )
        payment = PaymentCollection.open(
            order_id=order_id,
            amount=Money(order.total, CURRENCY),
            payment_intent_id=intent,
            now=now,
        )
        payment.authorize(
            order.total, reference=intent, capture_before=now + timedelta(days=7), now=now
        )
        payment.schedule_capture(now + GRACE, now=now)
        cart.complete(order_id=str(order_id), payment_intent_id=intent, now=now)
        # As checkout saves them: order first, then its payment, cart and levels.
        touched[order.id] = order
        touched[payment.id] = payment
        touched[cart.id] = cart
        for level in levels:
            touched[level.id] = level
        return _Placed(order, payment, index)

    def _reserve(
        self, level: InventoryLevel, quantity: int, order_id: str, line_id: str, now: datetime
    ) -> None:
        level.reserve(quantity, order_id=order_id, line_id=line_id, now=now)
        # A shortfall is recorded later, as the process manager does.
        before = level.available + quantity
        shortfall = max(-level.available, 0) - max(-before, 0)
        if shortfall > 0:
            self._shortfalls.append((level, shortfall, order_id, level.version, now))

    def _record_shortfalls(self, touched: dict[UUID, Aggregate]) -> None:
        for level, shortfall, order_id, version, at in self._shortfalls:
            level.record_backorder(
                shortfall=shortfall,
                order_id=order_id,
                reservation_version=version,
                now=at + timedelta(seconds=1),
            )
            touched[level.id] = level
        self._shortfalls = []

    def _settle(self, placed: _Placed, touched: dict[UUID, Aggregate]) -> None:
        order, payment, index = placed.order, placed.payment, placed.index
        rng = self.rng
        fate = rng.random()
        changed_at = self._at(index, minutes=20)
        due = self._at(index, minutes=61)
        touched[order.id] = order
        touched[payment.id] = payment
        if fate < 0.05:  # stays scheduled (capture not due yet)
            return
        if fate < 0.12:  # canceled in the grace period: hold voided, stock released
            order.cancel("customer asked", canceled_by="customer", now=changed_at)
            payment.void(reference=f"void_{index}", reason="order canceled", now=changed_at)
            for line in order.lines.values():
                level = self.levels[(line.variant_id, line.location_id)]
                level.release(
                    line.quantity, order_id=str(order.id), line_id=line.id, now=changed_at
                )
                touched[level.id] = level
            return
        if fate < 0.22:  # the order changes in the grace period (as commands.order_changes)
            previous_total = order.total
            line = next(iter(order.lines.values()))
            level = self.levels[(line.variant_id, line.location_id)]
            touched[level.id] = level
            if line.quantity > 1 and rng.random() < 0.5:
                order.change_quantity(
                    line.id, line.quantity - 1, changed_by="customer", now=changed_at
                )
                level.release(1, order_id=str(order.id), line_id=line.id, now=changed_at)
                payment.change_amount(order.total, now=changed_at)
            elif rng.random() < 0.5:
                order.change_quantity(
                    line.id, line.quantity + 1, changed_by="customer", now=changed_at
                )
                self._reserve(level, 1, str(order.id), line.id, changed_at)
                payment.increase_authorization(
                    order.total, reference=f"inc_{index}", now=changed_at
                )
                payment.change_amount(order.total, now=changed_at)
            else:  # a line is added
                variant = rng.choice(
                    sorted(set(self.prices) - {x.variant_id for x in order.lines.values()})
                )
                price, rate = self.prices[variant]
                added = Line(
                    id=f"line_{len(order.lines) + 1}",
                    variant_id=variant,
                    title=f"Product {variant}",
                    quantity=1,
                    unit_price=price,
                    tax_rate_bp=rate,
                    location_id=LOCATIONS[0],
                )
                level = self.levels[(variant, LOCATIONS[0])]
                touched[level.id] = level
                self._reserve(level, 1, str(order.id), added.id, changed_at)
                order.add_line(added, changed_by="customer", now=changed_at)
                payment.increase_authorization(
                    order.total, reference=f"inc_{index}", now=changed_at
                )
                payment.change_amount(order.total, now=changed_at)
            order.record_change(previous_total, changed_by="customer", now=changed_at)
        if fate > 0.97:  # the first capture attempt fails
            payment.record_capture_failure("card_declined: try again", final=False, now=due)
        payment.capture(payment.amount, reference=f"ch_{index}", now=due)
        order.mark_captured(payment.amount, now=due)
        if rng.random() < 0.12:  # refunded, partly or in full
            refund = payment.captured if rng.random() < 0.3 else payment.captured // 3 or 1
            payment.refund(
                refund, reference=f"re_{index}", reason="returned", now=due + timedelta(days=3)
            )
