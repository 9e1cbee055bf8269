"""Money moved at Stripe, on the PaymentCollection: refunds, disputes, a lapsed hold."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.errors import (
    DomainError,
    InvalidMoney,
    NotCaptured,
    PaymentDisputed,
    RefundExceedsCaptured,
)
from domain.payment_collection import PaymentCollection
from domain.payment_disputes import payment_status
from tests.unit.domain.builders import (
    NOW,
    authorized_collection,
    captured_collection,
    later,
    new_event_types,
    replay,
    state,
)


def test_a_refund_made_at_stripe_is_recorded_with_its_reference_and_source() -> None:
    payment = captured_collection(2500)

    assert payment.record_stripe_refund(
        700, reference="re_1", reason="dashboard", source="stripe", now=later(days=1)
    )

    assert (payment.refunded, payment.status) == (700, "partially_refunded")
    assert payment.transactions[-1] == {
        "kind": "refund",
        "amount": 700,
        "reference": "re_1",
        "created_at": later(days=1),
    }
    assert getattr(payment.pending_events[-1], "source", None) == "stripe"


def test_the_same_refund_reported_again_records_nothing() -> None:
    payment = captured_collection(2500)
    payment.record_stripe_refund(700, reference="re_1", reason="", source="stripe", now=NOW)
    payment.collect_events()

    assert not payment.record_stripe_refund(
        700, reference="re_1", reason="", source="reconciliation", now=NOW
    )
    assert payment.pending_events == []


def test_the_ledgers_own_refund_reported_back_by_stripe_records_nothing() -> None:
    payment = captured_collection(2500)
    payment.refund(500, reference="re_a,re_b", reason="damaged", now=NOW)

    assert not payment.record_stripe_refund(
        300, reference="re_b", reason="", source="stripe", now=NOW
    )
    assert payment.refunded == 500


def test_a_refund_at_stripe_beyond_the_capture_is_refused_not_recorded() -> None:
    payment = captured_collection(2500)
    payment.refund(2000, reference="re_0", reason="", now=NOW)
    with pytest.raises(RefundExceedsCaptured):
        payment.record_stripe_refund(501, reference="re_1", reason="", source="stripe", now=NOW)
    with pytest.raises(NotCaptured):
        authorized_collection().record_stripe_refund(
            1, reference="re_2", reason="", source="stripe", now=NOW
        )


def test_an_unknown_source_is_refused() -> None:
    with pytest.raises(InvalidMoney):
        captured_collection().record_stripe_refund(
            1, reference="re_1", reason="", source="someone", now=NOW
        )


def test_an_open_dispute_blocks_refunds_and_a_lost_one_counts_against_the_capture() -> None:
    payment = captured_collection(2500)
    assert payment.open_dispute("dp_1", 2000, reason="fraudulent", source="stripe", now=NOW)
    assert payment.status == "disputed" and payment.disputed == 2000
    with pytest.raises(PaymentDisputed):
        payment.check_refundable(100)

    assert payment.close_dispute("dp_1", 2000, won=False, source="stripe", now=later(days=9))
    assert (payment.status, payment.disputed, payment.dispute_lost) == ("dispute_lost", 0, 2000)
    payment.check_refundable(500)
    with pytest.raises(RefundExceedsCaptured):
        payment.check_refundable(501)
    assert [t["kind"] for t in payment.transactions][-2:] == ["dispute", "dispute_lost"]


def test_a_won_dispute_gives_the_payment_its_status_back() -> None:
    payment = captured_collection(2500)
    payment.open_dispute("dp_1", 2500, reason="", source="stripe", now=NOW)
    payment.close_dispute("dp_1", 2500, won=True, source="stripe", now=NOW)

    assert (payment.status, payment.dispute_lost) == ("captured", 0)
    payment.check_refundable(2500)


def test_a_closed_dispute_never_reported_open_is_opened_and_closed_at_once() -> None:
    payment = captured_collection(2500)
    assert payment.close_dispute("dp_1", 900, won=False, source="reconciliation", now=NOW)

    assert new_event_types(payment)[-2:] == ["DisputeOpened", "DisputeClosed"]
    assert not payment.close_dispute("dp_1", 900, won=False, source="stripe", now=NOW)
    assert not payment.open_dispute("dp_1", 900, reason="", source="stripe", now=NOW)


def test_a_dispute_needs_a_captured_payment() -> None:
    with pytest.raises(NotCaptured):
        authorized_collection().open_dispute("dp_1", 100, reason="", source="stripe", now=NOW)


def test_a_hold_voided_at_stripe_says_so() -> None:
    payment = authorized_collection()
    payment.void(reference="pi_1", reason="lapsed", now=NOW, source="stripe")

    assert payment.status == "canceled"
    assert getattr(payment.pending_events[-1], "source", None) == "stripe"


def test_a_stored_refund_and_void_from_before_sources_were_the_ledgers_own() -> None:
    refund: dict[str, Any] = {"amount": 1, "reference": "re", "reason": ""}
    void: dict[str, Any] = {"reference": "pi", "reason": ""}
    PaymentCollection.Refunded.upcast_v1_v2(refund)
    PaymentCollection.Voided.upcast_v1_v2(void)

    assert refund["source"] == void["source"] == "ledger"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        (
            {"voided": True, "captured": 0, "is_captured": False, "refunded": 0, "authorized": 5},
            "canceled",
        ),
        (
            {
                "voided": False,
                "captured": 5,
                "is_captured": True,
                "refunded": 5,
                "authorized": 5,
                "disputed": 5,
            },
            "disputed",
        ),
        (
            {
                "voided": False,
                "captured": 5,
                "is_captured": True,
                "refunded": 0,
                "authorized": 5,
                "lost": 2,
            },
            "dispute_lost",
        ),
        (
            {"voided": False, "captured": 5, "is_captured": True, "refunded": 5, "authorized": 5},
            "refunded",
        ),
        (
            {"voided": False, "captured": 0, "is_captured": False, "refunded": 0, "authorized": 0},
            "pending",
        ),
    ],
)
def test_the_status_rule(kwargs: dict[str, Any], status: str) -> None:
    assert payment_status(**kwargs) == status


class MoneyAtStripe(RuleBasedStateMachine):
    """Any mix of the ledger's refunds and Stripe's refunds and disputes, in any order and
    repeated: refunds plus lost disputes never exceed the capture, refusals change
    nothing, and the events rebuild the state."""

    @initialize(amount=st.integers(1, 10_000))
    def captured(self, amount: int) -> None:
        self.payment = captured_collection(amount)

    def attempt(self, command: Any) -> None:
        before = copy.deepcopy(state(self.payment))
        try:
            command()
        except DomainError:
            assert state(self.payment) == before

    @rule(amount=st.integers(1, 10_000), n=st.integers(0, 5))
    def stripe_refund(self, amount: int, n: int) -> None:
        self.attempt(
            lambda: self.payment.record_stripe_refund(
                amount, reference=f"re_{n}", reason="", source="stripe", now=NOW
            )
        )

    @rule(amount=st.integers(1, 10_000), n=st.integers(6, 9))
    def ledger_refund(self, amount: int, n: int) -> None:
        def refund() -> None:
            self.payment.check_refundable(amount)
            self.payment.refund(amount, reference=f"re_{n}", reason="", now=NOW)

        self.attempt(refund)

    @rule(amount=st.integers(1, 10_000), n=st.integers(0, 3), won=st.none() | st.booleans())
    def dispute(self, amount: int, n: int, won: bool | None) -> None:
        if won is None:
            self.attempt(
                lambda: self.payment.open_dispute(
                    f"dp_{n}", amount, reason="", source="stripe", now=NOW
                )
            )
        else:
            self.attempt(
                lambda: self.payment.close_dispute(
                    f"dp_{n}", amount, won=won, source="reconciliation", now=NOW
                )
            )

    @invariant()
    def within_the_capture(self) -> None:
        p = self.payment
        assert p.refunded + p.dispute_lost <= p.captured
        assert p.refunded == sum(t["amount"] for t in p.transactions if t["kind"] == "refund")

    @invariant()
    def replay_equals_state(self) -> None:
        rebuilt = replay(self.payment.pending_events)
        assert state(rebuilt) == state(self.payment)


TestMoneyAtStripe = MoneyAtStripe.TestCase
TestMoneyAtStripe.settings = settings(max_examples=150, stateful_step_count=25, deadline=None)
