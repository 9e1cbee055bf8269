"""The PaymentCollection: the hold, its capture, refunds and void, kept as a ledger."""

from uuid import uuid4

import pytest

from domain.errors import (
    AlreadyAuthorized,
    AlreadyCaptured,
    AmountMismatch,
    CaptureExceedsAuthorized,
    InvalidMoney,
    NotAuthorized,
    NotCaptured,
    PaymentVoided,
    RefundExceedsCaptured,
)
from domain.ids import payment_collection_id_for
from domain.money import Money
from domain.payment_collection import (
    AUTHORIZATION,
    CAPTURE,
    INCREMENT,
    REFUND,
    VOID,
    PaymentCollection,
    TransactionEntry,
)
from tests.unit.domain.builders import (
    NOW,
    authorized_collection,
    captured_collection,
    later,
    new_event_types,
    open_collection,
    replay,
    state,
)

# --- opening --------------------------------------------------------------------------


def test_a_collection_is_opened_for_the_orders_total_and_is_pending() -> None:
    order_id = uuid4()
    collection = open_collection(2500, order_id=order_id)

    assert (
        collection.id == payment_collection_id_for(order_id) == PaymentCollection.id_for(order_id)
    )
    assert (collection.amount, collection.currency) == (2500, "eur")
    assert collection.status == "pending"
    assert collection.transactions == []
    assert collection.money(collection.amount) == Money(2500, "eur")


@pytest.mark.parametrize("amount", [0, -1])
def test_a_collection_needs_a_positive_amount(amount: int) -> None:
    with pytest.raises(InvalidMoney):
        open_collection(amount)


# --- authorization --------------------------------------------------------------------


def test_an_authorization_of_exactly_the_amount_is_recorded() -> None:
    collection = open_collection(2500)

    collection.authorize(2500, reference="ch_1", capture_before=later(days=7), now=later(minutes=1))

    assert collection.authorized == 2500
    assert collection.is_authorized
    assert collection.authorized_at == later(minutes=1)
    assert collection.capture_before == later(days=7)
    assert collection.status == "authorized"
    assert collection.transactions == [
        TransactionEntry(
            kind=AUTHORIZATION, amount=2500, reference="ch_1", created_at=later(minutes=1)
        )
    ]


@pytest.mark.parametrize("amount", [2499, 2501, 0])
def test_an_authorization_of_another_amount_is_refused(amount: int) -> None:
    collection = open_collection(2500)
    with pytest.raises(AmountMismatch):
        collection.authorize(amount, reference="ch_1", capture_before=None, now=NOW)
    assert not collection.is_authorized


@pytest.mark.parametrize("amount", [2500.0, True])
def test_an_authorization_must_be_an_int_of_minor_units(amount: object) -> None:
    collection = open_collection(1 if amount is True else 2500)
    with pytest.raises(InvalidMoney):
        collection.authorize(amount, reference="ch_1", capture_before=None, now=NOW)  # type: ignore[arg-type]


def test_a_collection_is_authorized_only_once() -> None:
    collection = authorized_collection(2500)
    with pytest.raises(AlreadyAuthorized):
        collection.authorize(2500, reference="ch_2", capture_before=None, now=NOW)


def test_a_voided_collection_cannot_be_authorized() -> None:
    collection = open_collection(2500)
    collection.void(reference="pi_1", reason="canceled", now=NOW)
    with pytest.raises(PaymentVoided):
        collection.authorize(2500, reference="ch_1", capture_before=None, now=NOW)


def test_a_captured_collection_cannot_be_authorized_again() -> None:
    collection = captured_collection(2500)
    with pytest.raises(AlreadyCaptured):
        collection.authorize(2500, reference="ch_2", capture_before=None, now=NOW)


# --- amount and increments ------------------------------------------------------------


def test_the_amount_can_fall_within_the_authorization() -> None:
    collection = authorized_collection(2500)

    collection.change_amount(1800, now=later(minutes=3))

    assert (collection.amount, collection.authorized) == (1800, 2500)
    assert new_event_types(collection)[-1] == "AmountChanged"


def test_changing_to_the_same_amount_records_nothing() -> None:
    collection = authorized_collection(2500)
    collection.change_amount(2500, now=NOW)
    assert new_event_types(collection) == ["Created", "Authorized"]


def test_the_amount_cannot_rise_above_the_authorization() -> None:
    collection = authorized_collection(2500)
    with pytest.raises(CaptureExceedsAuthorized):
        collection.change_amount(2501, now=NOW)
    assert collection.amount == 2500


@pytest.mark.parametrize("amount", [0, -100, 10.0, True])
def test_the_amount_must_stay_a_positive_int(amount: object) -> None:
    collection = authorized_collection(2500)
    with pytest.raises(InvalidMoney):
        collection.change_amount(amount, now=NOW)  # type: ignore[arg-type]


def test_the_amount_cannot_change_before_authorization() -> None:
    with pytest.raises(NotAuthorized):
        open_collection(2500).change_amount(2000, now=NOW)


def test_the_amount_cannot_change_after_capture() -> None:
    with pytest.raises(AlreadyCaptured):
        captured_collection(2500).change_amount(2000, now=NOW)


def test_an_increased_authorization_allows_a_higher_amount() -> None:
    collection = authorized_collection(2500)

    collection.increase_authorization(3000, reference="ch_incr", now=later(minutes=2))
    collection.change_amount(3000, now=later(minutes=2))

    assert (collection.amount, collection.authorized) == (3000, 3000)
    assert collection.transactions[-1] == TransactionEntry(
        kind=INCREMENT, amount=500, reference="ch_incr", created_at=later(minutes=2)
    )


@pytest.mark.parametrize("authorized", [2500, 2000])
def test_an_increment_must_raise_the_authorization(authorized: int) -> None:
    collection = authorized_collection(2500)
    with pytest.raises(AmountMismatch):
        collection.increase_authorization(authorized, reference="ch_incr", now=NOW)
    assert collection.authorized == 2500


@pytest.mark.parametrize("authorized", [3000.0, 10**16])
def test_an_increment_must_be_valid_money(authorized: object) -> None:
    collection = authorized_collection(2500)
    with pytest.raises(InvalidMoney):
        collection.increase_authorization(authorized, reference="ch_incr", now=NOW)  # type: ignore[arg-type]


def test_an_unauthorized_collection_cannot_be_incremented() -> None:
    with pytest.raises(NotAuthorized):
        open_collection(2500).increase_authorization(3000, reference="ch_incr", now=NOW)


def test_a_captured_collection_cannot_be_incremented() -> None:
    with pytest.raises(AlreadyCaptured):
        captured_collection(2500).increase_authorization(3000, reference="ch_incr", now=NOW)


def test_a_voided_collection_cannot_be_incremented() -> None:
    collection = authorized_collection(2500)
    collection.void(reference="pi_1", reason="canceled", now=NOW)
    with pytest.raises(PaymentVoided):
        collection.increase_authorization(3000, reference="ch_incr", now=NOW)


# --- capture --------------------------------------------------------------------------


def test_an_authorized_payment_is_captured_for_its_amount() -> None:
    collection = authorized_collection(2500)

    collection.capture(2500, reference="ch_cap", now=later(hours=1))

    assert collection.captured == 2500
    assert collection.captured_at == later(hours=1)
    assert collection.is_captured
    assert collection.status == "captured"
    assert collection.transactions[-1] == TransactionEntry(
        kind=CAPTURE, amount=2500, reference="ch_cap", created_at=later(hours=1)
    )


def test_a_lowered_amount_captures_only_the_lowered_amount() -> None:
    collection = authorized_collection(2500)
    collection.change_amount(1800, now=NOW)

    with pytest.raises(AmountMismatch):
        collection.capture(2500, reference="ch_cap", now=NOW)
    collection.capture(1800, reference="ch_cap", now=NOW)

    assert (collection.captured, collection.authorized) == (1800, 2500)


@pytest.mark.parametrize("amount", [2499, 2501])
def test_a_capture_of_another_amount_is_refused(amount: int) -> None:
    collection = authorized_collection(2500)
    with pytest.raises(AmountMismatch):
        collection.check_capturable(amount)
    with pytest.raises(AmountMismatch):
        collection.capture(amount, reference="ch_cap", now=NOW)
    assert not collection.is_captured


def test_a_payment_is_captured_only_once() -> None:
    collection = captured_collection(2500)
    with pytest.raises(AlreadyCaptured):
        collection.capture(2500, reference="ch_cap_2", now=NOW)
    assert new_event_types(collection).count("CaptureSucceeded") == 1


def test_a_voided_payment_cannot_be_captured() -> None:
    collection = authorized_collection(2500)
    collection.void(reference="pi_1", reason="canceled", now=NOW)
    with pytest.raises(PaymentVoided):
        collection.capture(2500, reference="ch_cap", now=NOW)


def test_an_unauthorized_payment_cannot_be_captured() -> None:
    with pytest.raises(NotAuthorized):
        open_collection(2500).capture(2500, reference="ch_cap", now=NOW)


def test_a_capture_can_be_scheduled_and_rescheduled() -> None:
    collection = authorized_collection(2500)

    collection.schedule_capture(later(hours=1), now=NOW)
    collection.schedule_capture(later(hours=1), now=NOW)
    collection.schedule_capture(later(hours=2), now=NOW)

    assert collection.capture_due_at == later(hours=2)
    assert new_event_types(collection).count("CaptureScheduled") == 2


def test_a_captured_payment_cannot_be_scheduled_again() -> None:
    with pytest.raises(AlreadyCaptured):
        captured_collection(2500).schedule_capture(later(hours=3), now=NOW)


def test_capture_failures_are_counted_and_the_last_one_kept() -> None:
    collection = authorized_collection(2500)

    collection.record_capture_failure("card_declined", final=False, now=NOW)
    collection.record_capture_failure("x" * 2000, final=True, now=NOW)

    assert collection.capture_attempts == 2
    assert collection.capture_failed
    assert collection.last_capture_error == "x" * 500
    assert collection.status == "authorized"


def test_a_capture_failure_cannot_be_recorded_after_capture() -> None:
    with pytest.raises(AlreadyCaptured):
        captured_collection(2500).record_capture_failure("late", final=False, now=NOW)


# --- refunds --------------------------------------------------------------------------


def test_partial_refunds_add_up_to_a_full_refund() -> None:
    collection = captured_collection(2500)

    collection.refund(1000, reference="re_1", reason="damaged", now=later(days=1))
    assert collection.status == "partially_refunded"
    collection.refund(1500, reference="re_2", reason="returned", now=later(days=2))

    assert collection.refunded == 2500
    assert collection.status == "refunded"
    assert collection.transactions[-2:] == [
        TransactionEntry(kind=REFUND, amount=1000, reference="re_1", created_at=later(days=1)),
        TransactionEntry(kind=REFUND, amount=1500, reference="re_2", created_at=later(days=2)),
    ]


def test_refunds_cannot_add_up_to_more_than_was_captured() -> None:
    collection = captured_collection(2500)
    collection.refund(2000, reference="re_1", reason="damaged", now=NOW)

    with pytest.raises(RefundExceedsCaptured):
        collection.refund(501, reference="re_2", reason="again", now=NOW)
    with pytest.raises(RefundExceedsCaptured):
        collection.check_refundable(501)

    assert collection.refunded == 2000


def test_a_refund_is_of_what_was_captured_not_what_was_authorized() -> None:
    collection = authorized_collection(2500)
    collection.change_amount(1800, now=NOW)
    collection.capture(1800, reference="ch_cap", now=NOW)
    with pytest.raises(RefundExceedsCaptured):
        collection.refund(1801, reference="re_1", reason="x", now=NOW)


@pytest.mark.parametrize("amount", [0, -1, 1.5])
def test_a_refund_must_be_a_positive_int(amount: object) -> None:
    with pytest.raises(InvalidMoney):
        captured_collection(2500).refund(amount, reference="re_1", reason="x", now=NOW)  # type: ignore[arg-type]


def test_an_uncaptured_payment_cannot_be_refunded() -> None:
    with pytest.raises(NotCaptured):
        authorized_collection(2500).refund(100, reference="re_1", reason="x", now=NOW)
    with pytest.raises(NotCaptured):
        open_collection(2500).refund(100, reference="re_1", reason="x", now=NOW)


def test_a_voided_payment_cannot_be_refunded() -> None:
    collection = authorized_collection(2500)
    collection.void(reference="pi_1", reason="canceled", now=NOW)
    with pytest.raises(PaymentVoided):
        collection.refund(100, reference="re_1", reason="x", now=NOW)


def test_a_refund_reason_is_kept_to_500_characters() -> None:
    collection = captured_collection(2500)
    collection.refund(100, reference="re_1", reason="y" * 501, now=NOW)
    refunded = collection.pending_events[-1]
    assert isinstance(refunded, PaymentCollection.Refunded)
    assert refunded.reason == "y" * 500


# --- void -----------------------------------------------------------------------------


def test_voiding_an_authorized_payment_releases_the_whole_hold() -> None:
    collection = authorized_collection(2500)
    collection.increase_authorization(3000, reference="ch_incr", now=NOW)

    collection.void(reference="pi_1", reason="order canceled", now=later(minutes=9))

    assert collection.voided
    assert collection.status == "canceled"
    assert collection.transactions[-1] == TransactionEntry(
        kind=VOID, amount=3000, reference="pi_1", created_at=later(minutes=9)
    )


def test_a_pending_payment_can_be_voided() -> None:
    collection = open_collection(2500)
    collection.void(reference="pi_1", reason="abandoned", now=NOW)
    assert collection.status == "canceled"


def test_a_captured_payment_cannot_be_voided() -> None:
    collection = captured_collection(2500)
    with pytest.raises(AlreadyCaptured, match="refund"):
        collection.void(reference="pi_1", reason="too late", now=NOW)
    assert not collection.voided


def test_a_payment_is_voided_only_once() -> None:
    collection = authorized_collection(2500)
    collection.void(reference="pi_1", reason="canceled", now=NOW)
    with pytest.raises(PaymentVoided):
        collection.void(reference="pi_1", reason="canceled", now=NOW)
    with pytest.raises(PaymentVoided):
        collection.check_voidable()


# --- the ledger -----------------------------------------------------------------------


def test_every_money_movement_is_an_entry_in_the_ledger() -> None:
    collection = open_collection(2500)
    collection.authorize(2500, reference="ch_1", capture_before=None, now=later(minutes=1))
    collection.increase_authorization(4000, reference="ch_2", now=later(minutes=2))
    collection.change_amount(3500, now=later(minutes=3))
    collection.schedule_capture(later(hours=1), now=later(minutes=3))
    collection.capture(3500, reference="ch_3", now=later(hours=1))
    collection.refund(700, reference="re_1", reason="late", now=later(days=3))

    assert collection.transactions == [
        TransactionEntry(
            kind=AUTHORIZATION, amount=2500, reference="ch_1", created_at=later(minutes=1)
        ),
        TransactionEntry(
            kind=INCREMENT, amount=1500, reference="ch_2", created_at=later(minutes=2)
        ),
        TransactionEntry(kind=CAPTURE, amount=3500, reference="ch_3", created_at=later(hours=1)),
        TransactionEntry(kind=REFUND, amount=700, reference="re_1", created_at=later(days=3)),
    ]
    assert collection.status == "partially_refunded"


def test_replaying_a_collections_events_rebuilds_it() -> None:
    collection = authorized_collection(2500)
    collection.increase_authorization(4000, reference="ch_2", now=NOW)
    collection.change_amount(3500, now=NOW)
    collection.record_capture_failure("declined", final=False, now=NOW)
    collection.capture(3500, reference="ch_3", now=NOW)
    collection.refund(700, reference="re_1", reason="late", now=NOW)

    assert state(replay(collection.pending_events)) == state(collection)
