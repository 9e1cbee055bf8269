"""Reconcile's comparison: a payment collection against its PaymentIntent at Stripe."""

from __future__ import annotations

from datetime import UTC, datetime

from commands.reconcile.compare import compare
from commands.reconcile.findings import REPORTED, Finding
from commands.reconcile.stripe_records import StripeDispute, StripePayment, StripeRefund
from tests.unit.domain.builders import NOW, authorized_collection, captured_collection

CREATED = datetime(2025, 3, 14, tzinfo=UTC)


def at_stripe(
    status: str,
    amount: int = 2500,
    *,
    amount_capturable: int = 0,
    amount_received: int = 0,
    amount_captured: int = 0,
    amount_refunded: int = 0,
) -> StripePayment:
    return StripePayment(
        id="pi_1",
        status=status,
        amount=amount,
        currency="eur",
        created=CREATED,
        amount_capturable=amount_capturable,
        amount_received=amount_received,
        amount_captured=amount_captured,
        amount_refunded=amount_refunded,
    )


def refund(amount: int, status: str = "succeeded") -> StripeRefund:
    return StripeRefund("re_1", "pi_1", amount, status, CREATED)


def kinds(found: list[Finding]) -> list[str]:
    assert all(f.action == REPORTED for f in found)
    return [f.kind for f in found]


def test_a_capture_both_sides_agree_on_finds_nothing() -> None:
    payment = captured_collection(2500)
    stripe = at_stripe("succeeded", amount_captured=2500, amount_received=2500)
    assert compare(payment, [stripe], [], []) == []


def test_a_smaller_capture_at_stripe_is_reported_with_both_figures() -> None:
    payment = captured_collection(2500)
    [found] = compare(payment, [at_stripe("succeeded", amount_captured=2400)], [], [])

    assert found.kind == "capture_differs"
    assert (found.ledger["captured"], found.stripe["captured"]) == (2500, 2400)
    assert found.references == ("pi_1",) and found.order_id == payment.order_id


def test_a_capture_only_stripe_knows_is_reported_not_recorded() -> None:
    payment = authorized_collection(2500)
    found = compare(payment, [at_stripe("succeeded", amount_captured=2500)], [], [])
    assert kinds(found) == ["captured_at_stripe_only"]


def test_a_hold_stripe_lacks_or_holds_differently_is_reported() -> None:
    payment = authorized_collection(2500)
    assert kinds(compare(payment, [at_stripe("requires_payment_method")], [], [])) == [
        "hold_missing"
    ]
    held = at_stripe("requires_capture", amount_capturable=2000, amount=2000)
    assert kinds(compare(payment, [held], [], [])) == ["authorization_differs"]
    agreed = at_stripe("requires_capture", amount_capturable=2500)
    assert compare(payment, [agreed], [], []) == []


def test_a_voided_payment_still_held_at_stripe_is_reported() -> None:
    payment = authorized_collection(2500)
    payment.void(reference="pi_1", reason="canceled", now=NOW)
    held = at_stripe("requires_capture", amount_capturable=2500)
    assert kinds(compare(payment, [held], [], [])) == ["hold_not_released"]
    assert compare(payment, [at_stripe("canceled")], [], []) == []


def test_refunds_are_summed_from_refund_objects_not_the_charges_released_rest() -> None:
    payment = captured_collection(2500)
    # A partial capture's rest shows on the charge at some API versions; it is no refund.
    stripe = at_stripe("succeeded", amount=3000, amount_captured=2500, amount_refunded=500)
    assert compare(payment, [stripe], [], []) == []
    found = compare(payment, [stripe], [refund(300), refund(200, "pending")], [])
    assert kinds(found) == ["refund_differs"] and found[0].stripe["refunded"] == 300


def test_a_dispute_the_ledger_does_not_show_is_reported() -> None:
    payment = captured_collection(2500)
    stripe = at_stripe("succeeded", amount_captured=2500)
    lost = StripeDispute("dp_1", "pi_1", 2500, "lost", CREATED)
    assert kinds(compare(payment, [stripe], [], [lost])) == ["dispute_differs"]
