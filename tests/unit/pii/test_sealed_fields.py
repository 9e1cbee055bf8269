"""Personal fields sealed per customer at the store's edge; destroying a key erases them."""

from __future__ import annotations

from datetime import UTC, datetime

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from commands.ledger import Ledger
from domain.erasure import PersonalDataErasure
from domain.order import Order
from infra.pii.crypto import ERASED
from tests.unit.domain.builders import NOW
from tests.unit.pii.support import (
    customer_cart,
    customer_order,
    customer_review,
    sealed_ledger,
    stored_bytes,
)

ADA = ("ada@example.com", "Ada Lovelace", "12 Analytical Row")
BOB = ("bob@example.org", "Bob Babbage", "7 Difference Lane")


def test_the_stored_bytes_hold_no_personal_field_in_clear() -> None:
    # Given a ledger that seals personal data
    ledger, _ = sealed_ledger()
    # When Ada orders
    order = customer_order(*ADA, payment_intent_id="pi_ada")
    ledger.save_all(order)
    # Then nothing of her e-mail, name or street is in the stored bytes, money is
    stored = stored_bytes(ledger)
    for secret in ADA:
        assert secret.encode() not in stored
    assert b"2468" in stored or b"1234" in stored
    # And the domain reads the plain values back
    loaded = ledger.repository.get(order.id)
    assert loaded.email == ADA[0]
    assert loaded.shipping_address["first_name"] == ADA[1]


def test_a_destroyed_key_reads_erased_and_leaves_totals_and_others_intact() -> None:
    # Given Ada's and Bob's orders
    ledger, personal = sealed_ledger()
    ada = customer_order(*ADA, payment_intent_id="pi_ada")
    bob = customer_order(*BOB, payment_intent_id="pi_bob")
    ledger.save_all(ada, bob)
    total = ledger.repository.get(ada.id).total
    # When Ada's key is destroyed
    personal.keys.destroy([personal.master.subject_of_email(" ADA@Example.com ")], NOW)
    # Then her fields read [erased], her totals are the same; Bob's data is intact
    erased = ledger.repository.get(ada.id)
    assert erased.email == ERASED
    assert erased.shipping_address == {
        "first_name": ERASED,
        "address_1": ERASED,
        "country_code": ERASED,
    }
    assert erased.total == total
    assert ledger.repository.get(bob.id).email == BOB[0]


def test_a_cart_and_a_review_are_sealed_under_their_customer() -> None:
    # Given Ada's cart (address before e-mail), order and verified review
    ledger, personal = sealed_ledger()
    cart = customer_cart(ADA[0], ADA[2])
    order = customer_order(*ADA, payment_intent_id="pi_ada")
    ledger.save_all(cart, order)
    review = customer_review(order.id, ADA[1])
    ledger.save_all(review)
    stored = stored_bytes(ledger)
    assert ADA[1].encode() not in stored and ADA[2].encode() not in stored
    # When every subject linked to her aggregates is destroyed (what erasure does)
    subject = personal.master.subject_of_email(ADA[0])
    linked = personal.keys.aggregates_of([subject])
    assert {str(cart.id), str(order.id), str(review.id)} <= set(linked)
    anonymous = {s for a in linked for s in personal.keys.subjects_of(a) if s.startswith("a_")}
    personal.keys.destroy([subject, *anonymous], NOW)
    # Then the cart's every address and the review's author read [erased]
    loaded_cart = ledger.repository.get(cart.id)
    assert loaded_cart.email == ERASED
    assert loaded_cart.shipping_address == {"address_1": ERASED}
    assert loaded_cart.billing_address == {"address_1": ERASED}
    loaded_review = ledger.repository.get(review.id)
    assert loaded_review.author_name == ERASED
    assert loaded_review.rating == 5 and loaded_review.body == "Soft and warm."


def test_snapshots_are_sealed_too() -> None:
    # Given a ledger that snapshots, and Ada's order snapshotted
    ledger, personal = sealed_ledger(snapshots=True)
    order = customer_order(*ADA, payment_intent_id="pi_ada")
    ledger.save_all(order)
    ledger.take_snapshot(order.id)
    stored = stored_bytes(ledger)
    assert ADA[0].encode() not in stored and ADA[1].encode() not in stored
    snapshot = next(iter(ledger.snapshots.get(order.id, desc=True, limit=1)))
    assert snapshot.state["email"] == ADA[0]
    # When her key is destroyed, the snapshot reads erased
    personal.keys.destroy([personal.master.subject_of_email(ADA[0])], NOW)
    snapshot = next(iter(ledger.snapshots.get(order.id, desc=True, limit=1)))
    assert snapshot.state["email"] == ERASED


def test_events_stored_in_clear_before_sealing_still_load() -> None:
    # Given an Order.Placed stored by a ledger without sealing
    before = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    order = customer_order(*ADA, payment_intent_id="pi_old")
    stored = before.mapper.to_stored_event(order.collect_events()[0])
    assert ADA[0].encode() in stored.state
    # When the sealing mapper reads it
    sealing, _ = sealed_ledger()
    event = sealing.mapper.to_domain_event(stored)
    # Then it loads as it was
    assert isinstance(event, Order.Placed) and event.email == ADA[0]


def test_the_erasure_event_round_trips_and_holds_no_personal_data() -> None:
    # Given an erasure recorded for a subject
    ledger, personal = sealed_ledger()
    subject = personal.master.subject_of_email(ADA[0])
    erasure = PersonalDataErasure.start(subject, NOW)
    erasure.record(requested_by="admin-key:k1", aggregate_ids=["a", "b"], keys_destroyed=1, now=NOW)
    ledger.save_all(erasure)
    # When it is stored and read back
    loaded = ledger.repository.get(erasure.id)
    # Then it is the same, and its bytes name the subject only
    assert loaded.erasures == 1 and loaded.last_erased_at == NOW
    stored = stored_bytes(ledger)
    assert ADA[0].encode() not in stored and subject.encode() in stored
    mapped = ledger.mapper.to_stored_event(
        loaded.Erased(
            originator_id=erasure.id,
            originator_version=3,
            timestamp=datetime(2025, 1, 1, tzinfo=UTC),
            requested_by="cli",
            aggregate_ids=[],
            keys_destroyed=0,
        )
    )
    assert isinstance(mapped, StoredEvent)
    assert mapped.topic == get_topic(PersonalDataErasure.Erased)


def test_sealing_works_beneath_the_librarys_whole_store_cipher() -> None:
    # Given a ledger with CIPHER_KEY (the library's AES cipher) and sealing on
    from eventsourcing.cryptography import AESCipher

    ledger = Ledger(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.popo",
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": AESCipher.create_key(32),
        }
    )
    _, personal = sealed_ledger()
    from infra.pii.mapper import install

    install(ledger, personal)
    # When Ada orders, then nothing of the state is readable, and she reads back
    order = customer_order(*ADA, payment_intent_id="pi_cipher")
    ledger.save_all(order)
    stored = stored_bytes(ledger)
    assert b"payment_intent_id" not in stored and ADA[0].encode() not in stored
    assert ledger.repository.get(order.id).email == ADA[0]
    personal.keys.destroy([personal.master.subject_of_email(ADA[0])], NOW)
    assert ledger.repository.get(order.id).email == ERASED
