"""A refund retried after a crash, when Stripe's webhook recorded it in between.

Given a captured order, When a named refund request reaches Stripe but its save is lost,
and Stripe's webhook then records that refund in the ledger, Then the retry of the same
request is the same refund at Stripe and is not recorded again; unnamed refunds keep
the collection's n-th key, so two deliberate refunds stay two.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest

from commands.capture import capture_payment
from commands.ledger import Ledger
from commands.refunds import refund_payment
from commands.services import Services
from tests.unit.commands.fakes import Shop, a_shop


class LostSave(Exception):
    """The process died between Stripe's answer and the ledger's save."""


class LosesTheNextSave:
    """The ledger, but its next save is lost (every other call passes through)."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger
        self.lost = False

    def __getattr__(self, name: str) -> Any:
        if name.startswith("save") and not self.lost:
            self.lost = True

            def lose(*_: Any, **__: Any) -> Any:
                raise LostSave()

            return lose
        return getattr(self._ledger, name)


def crashing(shop: Shop) -> Services:
    """The shop's services, with a ledger whose next save is lost."""
    return replace(shop.services, ledger=cast(Ledger, LosesTheNextSave(shop.ledger)))


def captured(shop: Shop) -> Any:
    order = shop.authorized_order(unit_price=2000)
    capture_payment(shop.services, order.id, by="admin:test")
    return order


def refunds_at_stripe(shop: Shop) -> list[str]:
    """The refunds Stripe made (a repeated idempotency key answers the first one again)."""
    return sorted({shop.stripe._answers[key] for _, _, key in shop.stripe.moved("refund")})


def webhook_records(shop: Shop, order_id: Any, amount: int) -> None:
    """What Stripe's ``charge.refunded`` does: record the refund Stripe made, by its id."""
    [refund_id] = refunds_at_stripe(shop)
    payment = shop.payment(order_id)
    assert payment.record_stripe_refund(
        amount, reference=refund_id, reason="", source="stripe", now=shop.clock()
    )
    shop.ledger.save_all(payment)


def test_a_named_refund_retried_after_a_crash_is_one_refund() -> None:
    shop = a_shop()
    order = captured(shop)
    with pytest.raises(LostSave):
        refund_payment(
            crashing(shop), order.id, amount=500, reason="scratched", by="a", request_key="k:1"
        )
    webhook_records(shop, order.id, 500)
    refund_payment(
        shop.services, order.id, amount=500, reason="scratched", by="a", request_key="k:1"
    )
    assert len(shop.stripe.moved("refund")) == 2  # asked twice, under one key
    assert len(refunds_at_stripe(shop)) == 1
    assert shop.payment(order.id).refunded == 500


def test_two_named_requests_are_two_refunds() -> None:
    shop = a_shop()
    order = captured(shop)
    for request in ("k:1", "k:2"):
        refund_payment(shop.services, order.id, amount=300, reason="x", by="a", request_key=request)
    assert len(refunds_at_stripe(shop)) == 2
    assert shop.payment(order.id).refunded == 600


def test_an_unnamed_retry_after_such_a_crash_is_a_new_refund_as_before() -> None:
    """Without a name the ledger cannot tell a retry from a second refund: its n-th key."""
    shop = a_shop()
    order = captured(shop)
    with pytest.raises(LostSave):
        refund_payment(crashing(shop), order.id, amount=500, reason="x", by="a")
    webhook_records(shop, order.id, 500)
    refund_payment(shop.services, order.id, amount=500, reason="x", by="a")
    assert len(refunds_at_stripe(shop)) == 2
    assert shop.payment(order.id).refunded == 1000
