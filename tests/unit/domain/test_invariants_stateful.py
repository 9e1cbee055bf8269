"""Random command sequences never break an aggregate's invariants.

Each machine drives one aggregate with valid and invalid commands alike. A refused
command (a ``DomainError``) must leave the aggregate exactly as it was; after every
step the invariants hold and replaying the aggregate's events rebuilds its state.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.errors import DomainError
from domain.inventory_level import MAX_STOCK, InventoryLevel
from domain.payment_collection import (
    AUTHORIZATION,
    CAPTURE,
    INCREMENT,
    REFUND,
    VOID,
    PaymentCollection,
)
from tests.unit.domain.builders import NOW, later, open_collection, replay, state, stock_level

MACHINE_SETTINGS = settings(max_examples=300, stateful_step_count=30, deadline=None)


class RefusalsChangeNothing:
    """Runs a command; a refused one must leave the aggregate untouched."""

    aggregate: Any

    def attempt(self, command: Callable[[], object]) -> bool:
        version = self.aggregate.version
        before = copy.deepcopy(state(self.aggregate))
        try:
            command()
        except DomainError:
            assert self.aggregate.version == version
            assert state(self.aggregate) == before
            return False
        return True

    def teardown(self) -> None:
        # Shown by --hypothesis-show-statistics: which states the runs reached.
        if hasattr(self, "aggregate"):
            kinds = sorted({type(e).__name__ for e in self.aggregate.pending_events})
            event("reached " + ", ".join(kinds))

    def replay_equals_live_state(self) -> None:
        rebuilt = replay(self.aggregate.pending_events)
        assert state(rebuilt) == state(self.aggregate)


# --- payment collection ---------------------------------------------------------------

# Mostly right, sometimes wrong: valid commands must be likely enough to reach capture
# and refunds, and every kind of invalid one must still come up.
errors = st.sampled_from([0, 0, 0, 0, 1, -1, 5_000, -50_000])
deltas = st.integers(min_value=-200, max_value=3_000)


class PaymentCollectionMachine(RefusalsChangeNothing, RuleBasedStateMachine):
    aggregate: PaymentCollection

    @initialize(
        amount=st.integers(min_value=1, max_value=10_000),
        stage=st.sampled_from(["open", "authorized", "increased", "captured"]),
    )
    def open(self, amount: int, stage: str) -> None:
        # Starting some runs further along the happy path leaves steps for what follows.
        self.aggregate = pc = open_collection(amount)
        self.minutes = 0
        if stage != "open":
            pc.authorize(amount, reference="ch_auth", capture_before=None, now=self.now())
        if stage == "increased":
            pc.increase_authorization(amount * 2, reference="ch_incr", now=self.now())
        if stage == "captured":
            pc.capture(amount, reference="ch_cap", now=self.now())

    def now(self) -> datetime:
        self.minutes += 1
        return later(minutes=self.minutes)

    @rule(error=errors)
    def authorize(self, error: int) -> None:
        pc = self.aggregate
        amount = pc.amount + error
        self.attempt(
            lambda: pc.authorize(amount, reference="ch_auth", capture_before=None, now=self.now())
        )

    @rule(delta=deltas, aim=st.sampled_from(["below", "below", "authorized", "above", "zero"]))
    def change_amount(self, delta: int, aim: str) -> None:
        pc = self.aggregate
        amount = {
            "below": pc.authorized - abs(delta),
            "authorized": pc.authorized,
            "above": pc.authorized + abs(delta) + 1,
            "zero": 0,
        }[aim]
        self.attempt(lambda: pc.change_amount(amount, now=self.now()))

    @rule(delta=deltas)
    def increase_authorization(self, delta: int) -> None:
        pc = self.aggregate
        authorized = pc.authorized + delta
        self.attempt(
            lambda: pc.increase_authorization(authorized, reference="ch_incr", now=self.now())
        )

    @rule(error=errors)
    def capture(self, error: int) -> None:
        pc = self.aggregate
        amount = pc.amount + error
        self.attempt(lambda: pc.capture(amount, reference="ch_cap", now=self.now()))

    @rule(delta=deltas, aim=st.sampled_from(["part", "part", "rest", "too_much", "zero"]))
    def refund(self, delta: int, aim: str) -> None:
        pc = self.aggregate
        remaining = pc.captured - pc.refunded
        amount = {
            "part": min(abs(delta), remaining),
            "rest": remaining,
            "too_much": remaining + abs(delta) + 1,
            "zero": 0,
        }[aim]
        self.attempt(lambda: pc.refund(amount, reference="re", reason="x", now=self.now()))

    @rule(dice=st.integers(min_value=1, max_value=6))
    def void(self, dice: int) -> None:
        # Voiding ends everything; doing it on every call would hide the rest.
        if dice == 6:
            pc = self.aggregate
            self.attempt(lambda: pc.void(reference="pi", reason="canceled", now=self.now()))

    @rule(final=st.booleans())
    def fail_capture(self, final: bool) -> None:
        pc = self.aggregate
        self.attempt(lambda: pc.record_capture_failure("declined", final=final, now=self.now()))

    @rule(hours=st.integers(min_value=1, max_value=3))
    def schedule_capture(self, hours: int) -> None:
        pc = self.aggregate
        self.attempt(lambda: pc.schedule_capture(later(hours=hours), now=self.now()))

    @invariant()
    def amount_is_positive(self) -> None:
        assert self.aggregate.amount > 0

    @invariant()
    def amount_is_within_the_authorization_until_capture(self) -> None:
        pc = self.aggregate
        if not pc.is_captured:
            assert pc.authorized == 0 or pc.amount <= pc.authorized

    @invariant()
    def capture_is_of_the_amount_and_within_the_authorization(self) -> None:
        pc = self.aggregate
        assert pc.captured <= pc.authorized
        if pc.is_captured:
            assert pc.captured == pc.amount > 0

    @invariant()
    def refunds_are_within_the_capture(self) -> None:
        assert 0 <= self.aggregate.refunded <= self.aggregate.captured

    @invariant()
    def a_payment_is_never_both_voided_and_captured(self) -> None:
        assert not (self.aggregate.voided and self.aggregate.is_captured)

    @invariant()
    def the_ledger_adds_up_to_the_figures(self) -> None:
        pc = self.aggregate
        totals: dict[str, int] = {}
        for entry in pc.transactions:
            totals[entry["kind"]] = totals.get(entry["kind"], 0) + entry["amount"]
        assert totals.get(AUTHORIZATION, 0) + totals.get(INCREMENT, 0) == pc.authorized
        assert totals.get(CAPTURE, 0) == pc.captured
        assert totals.get(REFUND, 0) == pc.refunded
        assert totals.get(VOID, 0) == (pc.authorized if pc.voided else 0)
        kinds = [entry["kind"] for entry in pc.transactions]
        assert kinds.count(AUTHORIZATION) <= 1
        assert kinds.count(CAPTURE) <= 1
        assert kinds.count(VOID) <= 1

    @invariant()
    def replaying_the_events_rebuilds_the_collection(self) -> None:
        self.replay_equals_live_state()


PaymentCollectionMachine.TestCase.settings = MACHINE_SETTINGS
TestPaymentCollectionInvariants = PaymentCollectionMachine.TestCase


# --- inventory level ------------------------------------------------------------------

units = st.integers(min_value=-2, max_value=60)


class InventoryLevelMachine(RefusalsChangeNothing, RuleBasedStateMachine):
    aggregate: InventoryLevel

    @initialize(stocked=st.integers(min_value=0, max_value=50), allow_backorder=st.booleans())
    def stock(self, stocked: int, allow_backorder: bool) -> None:
        self.aggregate = stock_level(stocked, allow_backorder=allow_backorder)

    @rule(quantity=units)
    def reserve(self, quantity: int) -> None:
        level = self.aggregate
        if (
            self.attempt(lambda: level.reserve(quantity, order_id="o", line_id="l", now=NOW))
            and level.available < 0
        ):
            version = level.version
            level.record_backorder(
                shortfall=-level.available, order_id="o", reservation_version=version, now=NOW
            )
            assert version in level.backordered_reservations

    @rule(quantity=units, all_reserved=st.booleans())
    def release(self, quantity: int, all_reserved: bool) -> None:
        level = self.aggregate
        if all_reserved:
            quantity = level.reserved
        self.attempt(lambda: level.release(quantity, order_id="o", line_id="l", now=NOW))

    @rule(delta=st.integers(min_value=-60, max_value=60))
    def adjust(self, delta: int) -> None:
        level = self.aggregate
        self.attempt(lambda: level.adjust(delta, reason="count", adjusted_by="staff", now=NOW))

    @rule(stocked=st.integers(min_value=-2, max_value=80))
    def set_stocked(self, stocked: int) -> None:
        level = self.aggregate
        self.attempt(
            lambda: level.set_stocked(stocked, reason="count", adjusted_by="staff", now=NOW)
        )

    @rule(allow=st.booleans())
    def set_backorder_policy(self, allow: bool) -> None:
        level = self.aggregate
        self.attempt(lambda: level.set_backorder_policy(allow, now=NOW))

    @rule(reservation_version=st.integers(min_value=1, max_value=30))
    def record_backorder_again(self, reservation_version: int) -> None:
        level = self.aggregate
        already = reservation_version in level.backordered_reservations
        recorded = level.record_backorder(
            shortfall=1, order_id="o", reservation_version=reservation_version, now=NOW
        )
        assert recorded is not already

    @invariant()
    def nothing_negative_is_reserved(self) -> None:
        assert self.aggregate.reserved >= 0

    @invariant()
    def stock_stays_in_range(self) -> None:
        assert 0 <= self.aggregate.stocked <= MAX_STOCK

    @invariant()
    def availability_is_never_negative_without_backorders(self) -> None:
        level = self.aggregate
        assert level.available >= 0 or level.allow_backorder

    @invariant()
    def replaying_the_events_rebuilds_the_level(self) -> None:
        self.replay_equals_live_state()


InventoryLevelMachine.TestCase.settings = MACHINE_SETTINGS
TestInventoryLevelInvariants = InventoryLevelMachine.TestCase
