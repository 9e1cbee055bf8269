"""The verifier's rules on histories built in memory (no store): one rule per test."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from domain.order import Order
from domain.payment_collection import PaymentCollection
from queries.audit.replay import replay_order
from queries.audit.verify import SAVE_SPAN, Verifier, Violation
from tests.unit.domain.builders import NOW, a_line, later, place_order


class Log:
    """Events numbered as the store would number them, saved aggregate by aggregate."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)
        self.events: list[tuple[int, Any]] = []

    def save(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            self.events += [(next(self.ids), e) for e in aggregate.collect_events()]

    def put(self, event: Any) -> None:
        self.events.append((next(self.ids), event))

    def verify(self, now: datetime = NOW) -> list[Violation]:
        found: list[Violation] = []
        verifier = Verifier(now=now, on_violation=found.append)
        verifier.feed(self.events)
        verifier.page_done(self.events[-1][0])
        verifier.finish(head=self.events[-1][0], view_position=None)
        return found


def sale(log: Log, pi: str = "pi_1") -> tuple[Order, PaymentCollection]:
    order = place_order([a_line(unit_price=2000)], payment_intent_id=pi)
    payment = PaymentCollection.open(
        order_id=order.id, amount=order.total_money, payment_intent_id=pi, now=NOW
    )
    payment.authorize(order.total, reference=pi, capture_before=None, now=NOW)
    payment.schedule_capture(later(hours=1), now=NOW)
    log.save(order, payment)
    return order, payment


def rules(found: list[Violation]) -> set[str]:
    return {v.rule for v in found}


def test_a_history_written_by_the_aggregates_has_no_violations() -> None:
    log = Log()
    order, payment = sale(log)
    order.change_quantity("line_1", 2, changed_by="admin-key:k", now=later(minutes=5))
    payment.increase_authorization(order.total, reference="inc", now=later(minutes=5))
    payment.change_amount(order.total, now=later(minutes=5))
    log.save(order, payment)
    payment.capture(payment.amount, reference="ch", now=later(hours=1))
    order.mark_captured(payment.amount, now=later(hours=1))
    payment.refund(100, reference="re", reason="r", now=later(days=1))
    log.save(order, payment)

    assert log.verify(now=later(days=2)) == []


def test_a_second_capture_is_reported_with_both_events() -> None:
    log = Log()
    order, payment = sale(log)
    payment.capture(payment.amount, reference="ch", now=later(hours=1))
    log.save(payment)
    first = log.events[-1][0]
    log.put(replace(log.events[-1][1], originator_version=payment.version + 1))

    found = log.verify()

    twice = next(v for v in found if v.rule == "captured_twice")
    assert twice.order_id == order.id
    assert twice.events[0].startswith(f"#{first} PaymentCollection.CaptureSucceeded")
    assert "entries_differ_from_totals" in rules(found)


def test_an_amount_left_behind_the_order_total_beyond_a_save_is_reported() -> None:
    log = Log()
    order, _ = sale(log)
    order.change_quantity("line_1", 3, changed_by="storefront", now=later(minutes=5))
    log.save(order)  # the collection's amount never follows

    verifier_found: list[Violation] = []
    verifier = Verifier(now=NOW, on_violation=verifier_found.append)
    verifier.feed(log.events)
    verifier.page_done(log.events[-1][0])  # within a save's span: not yet
    assert verifier_found == []
    verifier.page_done(log.events[-1][0] + SAVE_SPAN)
    assert rules(verifier_found) == {"amount_differs_from_total"}


def test_an_order_changed_after_its_capture_is_reported() -> None:
    log = Log()
    order, payment = sale(log)
    payment.capture(payment.amount, reference="ch", now=later(hours=1))
    order.mark_captured(payment.amount, now=later(hours=1))
    log.save(order, payment)
    removed: Any = Order.LineItemRemoved  # built by hand: the aggregate would refuse it
    log.put(
        removed(
            originator_id=order.id,
            originator_version=order.version + 1,
            timestamp=later(hours=2),
            line_id="line_1",
            changed_by="intruder",
        )
    )

    assert "order_changed_after_close" in rules(log.verify())


def test_a_due_capture_that_never_happened_is_overdue_unless_explained() -> None:
    log = Log()
    sale(log, "pi_due")
    _, failed = sale(log, "pi_failed")
    failed.record_capture_failure("card_declined", final=True, now=later(hours=1))
    log.save(failed)

    overdue = [v for v in log.verify(now=later(hours=2)) if v.rule == "capture_overdue"]

    assert [v.order_id for v in overdue] == [Order.id_for("pi_due")]
    assert log.verify(now=later(minutes=59)) == []


def test_replay_as_of_a_moment_folds_only_what_had_happened_by_then() -> None:
    log = Log()
    order, payment = sale(log)
    payment.capture(payment.amount, reference="ch", now=later(hours=1))
    log.save(payment)
    order_events = [e for _, e in log.events if e.originator_id == order.id]
    payment_events = [e for _, e in log.events if e.originator_id == payment.id]

    before = replay_order(order.id, order_events, payment_events, as_of=NOW - timedelta(1))
    between = replay_order(order.id, order_events, payment_events, as_of=later(minutes=30))

    assert before is None
    assert between is not None
    assert (between.totals.authorized, between.totals.captured) == (payment.authorized, 0)
