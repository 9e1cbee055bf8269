"""Small builders for domain tests: a fixed clock and aggregates in a known state."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.cart import Cart
from domain.inventory_level import InventoryLevel
from domain.lines import Line, Shipping
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection

A = TypeVar("A", bound=Aggregate)

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
GRACE = timedelta(hours=1)


def later(**delta: float) -> datetime:
    return NOW + timedelta(**delta)


def a_line(
    line_id: str = "line_1",
    *,
    unit_price: int = 1000,
    quantity: int = 1,
    tax_rate_bp: int = 2000,
    variant_id: str | None = None,
    location_id: str = "loc_main",
) -> Line:
    return Line(
        id=line_id,
        variant_id=variant_id or f"variant_{line_id}",
        title=f"Item {line_id}",
        quantity=quantity,
        unit_price=unit_price,
        tax_rate_bp=tax_rate_bp,
        location_id=location_id,
    )


def a_shipping(amount: int = 495, tax_rate_bp: int = 0) -> Shipping:
    return Shipping(
        option_id="so_standard", name="Standard", amount=amount, tax_rate_bp=tax_rate_bp
    )


def place_order(
    lines: list[Line] | None = None,
    *,
    shipping: Shipping | None = None,
    payment_intent_id: str = "pi_1",
    currency: str = "eur",
    now: datetime = NOW,
    editable_until: datetime | None = None,
) -> Order:
    return Order.place(
        cart_id="cart_1",
        payment_intent_id=payment_intent_id,
        region_id="reg_eu",
        sales_channel_id="sc_web",
        currency=currency,
        email="ada@example.com",
        shipping_address={"name": "Ada", "city": "London", "lines": ["1 Main St"]},
        lines=[a_line()] if lines is None else lines,
        shipping=shipping,
        editable_until=editable_until or now + GRACE,
        access_token_hash="sha256:abc",
        placed_by="customer:ada",
        now=now,
    )


def open_collection(amount: int = 2500, *, order_id: UUID | None = None) -> PaymentCollection:
    return PaymentCollection.open(
        order_id=order_id or uuid4(),
        amount=Money(amount, "eur"),
        payment_intent_id="pi_1",
        now=NOW,
    )


def authorized_collection(amount: int = 2500) -> PaymentCollection:
    collection = open_collection(amount)
    collection.authorize(amount, reference="ch_auth", capture_before=later(days=7), now=NOW)
    return collection


def captured_collection(amount: int = 2500) -> PaymentCollection:
    collection = authorized_collection(amount)
    collection.capture(amount, reference="ch_capture", now=later(hours=1))
    return collection


def stock_level(stocked: int = 10, *, allow_backorder: bool = False) -> InventoryLevel:
    return InventoryLevel.stock(
        item_id="iitem_1",
        location_id="loc_main",
        stocked_quantity=stocked,
        allow_backorder=allow_backorder,
        now=NOW,
    )


def start_cart() -> Cart:
    return Cart.start(
        cart_id=uuid4(),
        region_id="reg_eu",
        sales_channel_id="sc_web",
        currency="eur",
        email="ada@example.com",
        now=NOW,
    )


def new_event_types(aggregate: Aggregate) -> list[str]:
    """Names of the event types pending on ``aggregate``, oldest first."""
    return [type(event).__name__ for event in aggregate.pending_events]


def replay(events: Iterable[Any]) -> Any:
    """Rebuild an aggregate from its events, as the repository does."""
    return functools.reduce(lambda aggregate, event: event.mutate(aggregate), events, None)


def state(aggregate: Aggregate) -> dict[str, Any]:
    """Everything an aggregate holds except its not-yet-saved events."""
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}
