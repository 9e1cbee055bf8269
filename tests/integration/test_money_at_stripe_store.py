"""The events of money moved at Stripe round-trip through the store; old events upcast."""

from __future__ import annotations

import json
from collections.abc import Iterator
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from commands.ledger import Ledger
from domain.money import Money
from domain.payment_collection import PaymentCollection
from infra.database import event_store_env
from tests.unit.domain.builders import NOW, later, state

pytestmark = [pytest.mark.embedded_ok, pytest.mark.integration]


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(env=event_store_env(database_url))
    try:
        yield ledger
    finally:
        ledger.close()


def captured() -> PaymentCollection:
    payment = PaymentCollection.open(
        order_id=uuid4(), amount=Money(2500, "eur"), payment_intent_id=f"pi_{uuid4().hex}", now=NOW
    )
    payment.authorize(2500, reference="ch_1", capture_before=None, now=NOW)
    payment.capture(2500, reference="ch_1", now=later(hours=1))
    return payment


def test_stripe_refunds_disputes_and_voids_round_trip_through_the_store(ledger: Ledger) -> None:
    payment = captured()
    payment.record_stripe_refund(
        300, reference="re_1", reason="dashboard", source="stripe", now=later(days=1)
    )
    payment.open_dispute("dp_1", 1000, reason="fraudulent", source="stripe", now=later(days=2))
    payment.close_dispute("dp_1", 1000, won=False, source="reconciliation", now=later(days=9))
    voided = PaymentCollection.open(
        order_id=uuid4(), amount=Money(900, "eur"), payment_intent_id="pi_x", now=NOW
    )
    voided.authorize(900, reference="ch_2", capture_before=None, now=NOW)
    voided.void(reference="pi_x", reason="lapsed", now=later(days=7), source="stripe")
    originals = [*payment.pending_events, *voided.pending_events]
    assert {type(e).__name__ for e in originals} >= {
        "Refunded",
        "DisputeOpened",
        "DisputeClosed",
        "Voided",
    }

    head = ledger.head
    ledger.save_all(payment, voided)

    for aggregate in (payment, voided):
        assert state(ledger.repository.get(aggregate.id)) == state(aggregate)
    notifications = ledger.recorder.select_notifications(start=head + 1, limit=100)
    recorded = [ledger.mapper.to_domain_event(n) for n in notifications]
    assert recorded == originals
    sources = [getattr(e, "source", None) for e in recorded if hasattr(e, "source")]
    assert sources == ["stripe", "stripe", "reconciliation", "stripe"]
    topics = {n.topic for n in notifications}
    assert "domain.payment_collection:PaymentCollection.DisputeOpened" in topics


def test_a_refund_stored_before_sources_existed_reads_as_the_ledgers_own(ledger: Ledger) -> None:
    payment = captured()
    payment.refund(500, reference="re_old", reason="damaged", now=later(days=1))
    event = payment.pending_events[-1]
    stored = ledger.mapper.to_stored_event(event)
    # As the first version of the event was stored: no source, no class_version.
    old_state = json.loads(stored.state)
    old_state.pop("source")
    old_state.pop("class_version", None)
    old = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(old_state).encode(),
    )

    decoded = ledger.mapper.to_domain_event(old)

    assert isinstance(decoded, PaymentCollection.Refunded)
    assert (decoded.source, decoded.amount, decoded.reference) == ("ledger", 500, "re_old")
