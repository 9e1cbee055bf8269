"""In-memory fakes for the use-case tests: Stripe, a clock, locks, alerts, timers,
wired as ``Services`` by the same seam the real processes use (``infra.wiring``).

The ledger is the eventsourcing library's in-memory store (``eventsourcing.popo``);
the fake Stripe keeps PaymentIntents in a dict and answers a repeated idempotency key
with its first result, as Stripe does.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from commands.catalog import CatalogSlice, CatalogStore, Region, SalesChannel, Variant
from commands.errors import CardDeclined, PaymentRequestRejected
from commands.ledger import Ledger
from commands.ports import PaymentGateway, PaymentIntent
from commands.reconcile.stripe_records import StripeRecords
from commands.services import Services
from domain.capture_timing import capture_due_at
from domain.inventory_level import InventoryLevel
from domain.lines import Line
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.settings import Settings
from infra.wiring import wire_services
from tests.unit.domain.builders import NOW, a_line, place_order


@dataclass
class FakeStripe:
    """The PaymentGateway in memory; ``calls`` lists (method, id, idempotency key)."""

    intents: dict[str, PaymentIntent] = field(default_factory=dict)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    decline_captures: bool = False
    refuse_increments: bool = False
    _answers: dict[str, Any] = field(default_factory=dict)
    _refunds: int = 0

    def hold(
        self, intent_id: str, amount: int, *, status: str = "requires_capture", cart_id: str = ""
    ) -> None:
        metadata = {"cart_id": cart_id} if cart_id else {}
        self.intents[intent_id] = PaymentIntent(intent_id, status, amount, "eur", metadata=metadata)

    def moved(self, method: str) -> list[tuple[str, str, str]]:
        return [call for call in self.calls if call[0] == method]

    def _once(self, key: str, method: str, intent_id: str, act: Any) -> Any:
        self.calls.append((method, intent_id, key))
        if key not in self._answers:
            self._answers[key] = act()
        return self._answers[key]

    def _set(self, intent_id: str, **changes: Any) -> PaymentIntent:
        intent = replace(self.intents[intent_id], **changes)
        self.intents[intent_id] = intent
        return intent

    def create_payment_intent(
        self, *, amount: int, currency: str, cart_id: str, idempotency_key: str
    ) -> PaymentIntent:  # pragma: no cover - not a use case tested here
        raise NotImplementedError

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        return self.intents[payment_intent_id]

    def update_amount(
        self, payment_intent_id: str, amount: int
    ) -> PaymentIntent:  # pragma: no cover
        raise NotImplementedError

    def cancel_payment_intent(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> PaymentIntent:
        def act() -> PaymentIntent:
            if self.intents[payment_intent_id].status != "requires_capture":
                raise PaymentRequestRejected("This PaymentIntent cannot be canceled.")
            return self._set(payment_intent_id, status="canceled")

        intent: PaymentIntent = self._once(idempotency_key, "cancel", payment_intent_id, act)
        return intent

    def capture_payment_intent(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> PaymentIntent:
        if self.decline_captures:
            self.calls.append(("capture", payment_intent_id, idempotency_key))
            raise CardDeclined("Your card was declined.")

        def act() -> PaymentIntent:
            if self.intents[payment_intent_id].status != "requires_capture":
                raise PaymentRequestRejected("This PaymentIntent cannot be captured.")
            return self._set(payment_intent_id, status="succeeded", amount_received=amount)

        intent: PaymentIntent = self._once(idempotency_key, "capture", payment_intent_id, act)
        return intent

    def create_supplementary_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str,
        order_id: str,
        idempotency_key: str,
    ) -> PaymentIntent:  # pragma: no cover
        raise NotImplementedError

    def increment_authorization(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> PaymentIntent:
        def act() -> PaymentIntent:
            if self.refuse_increments:
                raise PaymentRequestRejected("This card does not support incremental auth.")
            return self._set(payment_intent_id, amount=amount)

        intent: PaymentIntent = self._once(idempotency_key, "increment", payment_intent_id, act)
        return intent

    def refund_payment_intent(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> str:
        def act() -> str:
            self._refunds += 1
            return f"re_{self._refunds}"

        refund_id: str = self._once(idempotency_key, "refund", payment_intent_id, act)
        return refund_id


@dataclass
class FakeClock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class NoLocks:
    def hold(self, name: str) -> AbstractContextManager[None]:
        return nullcontext()


@dataclass
class Alerts:
    sent: list[str] = field(default_factory=list)

    def alert(self, subject: str, text: str) -> None:
        self.sent.append(subject)


@dataclass
class Timers:
    set_for: list[tuple[UUID, datetime]] = field(default_factory=list)

    def set(self, order_id: UUID, due_at: datetime, now: datetime) -> None:
        self.set_for.append((order_id, due_at))


@dataclass
class Shop:
    """A ledger in memory and the fakes around it, wired as ``Services``."""

    ledger: Ledger
    stripe: FakeStripe
    clock: FakeClock
    alerts: Alerts
    timers: Timers
    services: Services

    def stock(self, line: Line, quantity: int = 10) -> InventoryLevel:
        return InventoryLevel.stock(
            item_id=line.variant_id,
            location_id=line.location_id,
            stocked_quantity=quantity,
            allow_backorder=False,
            now=self.clock(),
        )

    def authorized_order(self, intent_id: str = "pi_1", unit_price: int = 2000) -> Order:
        """An order placed and authorized, its capture scheduled as the process manager does."""
        line = a_line(unit_price=unit_price)
        level = self.stock(line)
        now = self.clock()
        order = place_order([line], payment_intent_id=intent_id, now=now)
        level.reserve(line.quantity, order_id=str(order.id), line_id=line.id, now=now)
        payment = PaymentCollection.open(
            order_id=order.id,
            amount=Money(order.total, "eur"),
            payment_intent_id=intent_id,
            now=now,
        )
        payment.authorize(order.total, reference=intent_id, capture_before=None, now=now)
        policy = self.services.policy.capture
        payment.schedule_capture(capture_due_at(policy, now, None), now=now)
        self.ledger.save_all(order, payment, level)
        self.stripe.hold(intent_id, order.total)
        return order

    def payment(self, order_id: UUID) -> PaymentCollection:
        found = self.ledger.get_or_none(PaymentCollection.id_for(order_id), PaymentCollection)
        assert found is not None
        return found

    def order(self, order_id: UUID) -> Order:
        found = self.ledger.get_or_none(order_id, Order)
        assert found is not None
        return found


# The policy values the use-case tests run with, through the one function that reads them.
SETTINGS = Settings.model_construct(
    capture_grace_seconds=3600, increment_fallback="supplementary", order_token_days=90
)


def a_shop(
    *,
    catalog: CatalogStore | None = None,
    secrets: Any = None,
    stripe_records: StripeRecords | None = None,
    **settings: Any,
) -> Shop:
    """The use cases wired by the bootstrap's seam (``infra.wiring.wire_services``): the
    in-memory store, the fake Stripe, the fake clock; ``settings`` change the policy."""
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    stripe, clock, alerts, timers = FakeStripe(), FakeClock(), Alerts(), Timers()
    services = wire_services(
        SETTINGS.model_copy(update=settings),
        ledger=ledger,
        catalog=catalog if catalog is not None else cast(CatalogStore, None),
        payments=cast(PaymentGateway, stripe),
        locks=NoLocks(),
        webhooks=cast(Any, None),
        secrets=secrets if secrets is not None else cast(Any, None),
        clock=clock,
        timers=timers,
        alerts=alerts,
        stripe_records=stripe_records,
    )
    return Shop(ledger, stripe, clock, alerts, timers, services)


class FakeCatalog:
    """One region, one sales channel at one location, and the variants given."""

    def __init__(self, *variants: Variant) -> None:
        self.slice = CatalogSlice(
            regions={"reg_eu": Region("reg_eu", "eur", 2000, True)},
            sales_channels={"sc_web": SalesChannel("sc_web", ("loc_main",))},
            shipping_options={},
            variants={variant.id: variant for variant in variants},
        )

    def for_cart(self, **_: Any) -> CatalogSlice:
        return self.slice


class Secrets:
    def order_token_key(self) -> bytes:
        return b"k" * 32


def a_variant(variant_id: str = "v1", price: int = 1000) -> Variant:
    """A variant that is not shipped (no shipping method needed to pay)."""
    return Variant(variant_id, "p1", f"SKU-{variant_id}", "Mug", {"eur": price}, None, False)
