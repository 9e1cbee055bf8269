"""An in-memory ledger whose personal fields are sealed, and what it stored, as bytes."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from uuid import UUID, uuid4

from commands.ledger import Ledger
from domain.cart import Cart
from domain.order import Order
from domain.review import Review
from infra.pii.crypto import MasterKey
from infra.pii.keys import InMemoryDataKeys
from infra.pii.mapper import PersonalData, install
from tests.unit.domain.builders import GRACE, NOW, a_line


def sealed_ledger(
    keys: InMemoryDataKeys | None = None, snapshots: bool = False
) -> tuple[Ledger, PersonalData]:
    env = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if snapshots:
        env["IS_SNAPSHOTTING_ENABLED"] = "y"
    ledger = Ledger(env=env)
    personal = PersonalData(MasterKey(secrets.token_bytes(32)), keys or InMemoryDataKeys())
    install(ledger, personal)
    return ledger, personal


def stored_bytes(ledger: Ledger) -> bytes:
    """Every stored event and snapshot, concatenated."""
    out = b""
    for n in ledger.recorder.select_notifications(start=1, limit=1_000_000):
        out += n.state + n.topic.encode()
    if ledger.snapshots is not None:
        recorder = ledger.snapshots.recorder
        for stored in getattr(recorder, "_stored_events", []):
            out += stored.state
    return out


def customer_order(
    email: str, name: str, street: str, *, payment_intent_id: str, now: datetime = NOW
) -> Order:
    return Order.place(
        cart_id=f"cart_{payment_intent_id}",
        payment_intent_id=payment_intent_id,
        region_id="reg_eu",
        sales_channel_id="sc_web",
        currency="eur",
        email=email,
        shipping_address={"first_name": name, "address_1": street, "country_code": "de"},
        lines=[a_line(unit_price=1234, quantity=2)],
        shipping=None,
        editable_until=now + GRACE,
        access_token_hash="sha256:abc",
        placed_by="customer",
        now=now,
    )


def customer_cart(email: str, street: str) -> Cart:
    cart = Cart.start(
        cart_id=uuid4(),
        region_id="reg_eu",
        sales_channel_id="sc_web",
        currency="eur",
        email="",
        shipping_address={"address_1": street},
        now=NOW,
    )
    cart.change_details(
        email=email,
        shipping_address={"address_1": street},
        billing_address={"address_1": street},
        now=NOW,
    )
    return cart


def customer_review(order_id: UUID, author: str) -> Review:
    return Review.submit(
        product_id="prod_tee",
        rating=5,
        title="Lovely",
        body="Soft and warm.",
        author_name=author,
        order_id=order_id,
        fresh_id=uuid4(),
        now=datetime(2025, 3, 14, 13, 0, tzinfo=UTC),
    )
