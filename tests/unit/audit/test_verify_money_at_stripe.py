"""audit verify and replay on money moved at Stripe: refunds, disputes, a lapsed hold."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from queries.audit.replay import replay_order
from queries.audit.verify import Verifier, Violation
from tests.unit.audit.test_verify import Log, rules, sale
from tests.unit.domain.builders import later


def verified(log: Log) -> tuple[list[Violation], dict[str, Any]]:
    found: list[Violation] = []
    verifier = Verifier(now=later(days=30), on_violation=found.append)
    verifier.feed(log.events)
    report = verifier.finish(head=log.events[-1][0], view_position=None)
    return found, report.summary


def captured_sale(log: Log) -> Any:
    order, payment = sale(log)
    payment.capture(order.total, reference="ch_1", now=later(hours=1))
    order.mark_captured(order.total, now=later(hours=1))
    log.save(order, payment)
    return order, payment


def test_a_lost_dispute_and_a_stripe_refund_verify_and_count_against_what_was_kept() -> None:
    log = Log()
    order, payment = captured_sale(log)
    total = order.total
    payment.record_stripe_refund(
        500, reference="re_1", reason="", source="stripe", now=later(days=1)
    )
    payment.open_dispute("dp_1", 1000, reason="fraudulent", source="stripe", now=later(days=2))
    payment.close_dispute("dp_1", 1000, won=False, source="reconciliation", now=later(days=9))
    log.save(payment)

    found, summary = verified(log)

    assert found == []
    eur = summary["eur"]
    assert (eur["dispute"]["amount"], eur["dispute_lost"]["amount"]) == (1000, 1000)
    assert eur["net_captured"]["amount"] == total - 500 - 1000
    events = [e for _, e in log.events]
    history = replay_order(
        order.id,
        [e for e in events if e.originator_id == order.id],
        [e for e in events if e.originator_id == payment.id],
    )
    assert history.payment_status == "dispute_lost"
    assert [(e.movement.kind, e.cause) for e in history.entries if e.movement][-3:] == [
        ("refund", "stripe"),
        ("dispute", "stripe"),
        ("dispute_lost", "reconciliation"),
    ]


def test_a_dispute_lost_beyond_the_capture_behind_the_ledgers_back_is_a_violation() -> None:
    log = Log()
    _, payment = captured_sale(log)
    payment.open_dispute("dp_1", 1000, reason="", source="stripe", now=later(days=2))
    log.save(payment)
    opened = log.events[-1][1]
    log.put(
        replace(
            opened,
            dispute_id="dp_2",
            amount=10**6,
            originator_version=opened.originator_version + 1,
        )
    )

    assert "refund_exceeds_captured" in rules(verified(log)[0])


def test_a_dispute_on_money_never_captured_is_a_violation() -> None:
    log = Log()
    _, payment = sale(log)
    other = captured_sale(Log())[1]
    other.open_dispute("dp_1", 100, reason="", source="stripe", now=later(days=1))
    [opened] = other.collect_events()
    log.put(replace(opened, originator_id=payment.id, originator_version=payment.version + 1))

    assert "dispute_without_capture" in rules(verified(log)[0])
