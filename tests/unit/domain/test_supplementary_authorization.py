"""A second PaymentIntent for the difference: how captures and refunds split over the holds."""

from uuid import uuid4

import pytest

from domain.errors import AlreadyAuthorized, AlreadyCaptured
from domain.money import Money
from domain.payment_collection import PaymentCollection
from tests.unit.domain.builders import NOW, later


def supplemented() -> PaymentCollection:
    payment = PaymentCollection.open(
        order_id=uuid4(), amount=Money(3000, "eur"), payment_intent_id="pi_first", now=NOW
    )
    payment.authorize(3000, reference="pi_first", capture_before=None, now=NOW)
    payment.add_supplementary_authorization("pi_second", 1000, now=later(minutes=1))
    payment.change_amount(4000, now=later(minutes=1))
    return payment


def test_a_supplement_adds_to_the_authorized_total_and_is_recorded_as_an_authorization() -> None:
    payment = supplemented()
    assert payment.authorized == 4000
    assert payment.holds == {"pi_first": 3000, "pi_second": 1000}
    assert payment.payment_intent_ids == ["pi_first", "pi_second"]
    assert [(t["kind"], t["amount"], t["reference"]) for t in payment.transactions] == [
        ("authorization", 3000, "pi_first"),
        ("authorization", 1000, "pi_second"),
    ]


def test_a_capture_takes_the_first_hold_first_and_the_supplement_for_the_rest() -> None:
    payment = supplemented()
    assert payment.capture_plan(4000) == [("pi_first", 3000), ("pi_second", 1000)]
    payment.change_amount(3200, now=later(minutes=2))
    # Less to capture: the supplement takes only what the first hold cannot.
    assert payment.capture_plan(3200) == [("pi_first", 3000), ("pi_second", 200)]
    payment.change_amount(2500, now=later(minutes=2))
    assert payment.capture_plan(2500) == [("pi_first", 2500), ("pi_second", 0)]


def test_refunds_split_over_what_each_payment_intent_captured() -> None:
    payment = supplemented()
    payment.capture(4000, reference="pi_first", now=later(hours=1))
    assert payment.captured_by == {"pi_first": 3000, "pi_second": 1000}
    assert payment.refund_plan(3500) == [("pi_first", 3000), ("pi_second", 500)]
    payment.refund(2800, reference="re_1", reason="", now=later(days=1))
    assert payment.refund_plan(1200) == [("pi_first", 200), ("pi_second", 1000)]
    payment.refund(1200, reference="re_2", reason="", now=later(days=2))
    assert payment.refunded_by == payment.captured_by
    assert payment.status == "refunded"


def test_the_same_payment_intent_cannot_be_added_twice_nor_after_capture() -> None:
    payment = supplemented()
    with pytest.raises(AlreadyAuthorized):
        payment.add_supplementary_authorization("pi_second", 10, now=later(minutes=3))
    payment.capture(4000, reference="pi_first", now=later(hours=1))
    with pytest.raises(AlreadyCaptured):
        payment.add_supplementary_authorization("pi_third", 10, now=later(hours=2))
