"""The ledger's payment statuses answer in Medusa's enums, on the order and its collection.

Given any payment the status rule can describe, When a Medusa order is shaped from it,
Then ``payment_status`` is one of Medusa's order PaymentStatus values and the
collection's ``status`` one of its PaymentCollectionStatus values.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.payment_disputes import payment_status
from infra.medusa.shapes_checkout import COLLECTION_STATUS, payment_status_out

# packages/core/utils/src/order/status.ts and payment/payment-collection.ts (Medusa v2)
MEDUSA_ORDER_PAYMENT = {
    "not_paid",
    "awaiting",
    "captured",
    "partially_captured",
    "partially_refunded",
    "refunded",
    "canceled",
    "requires_action",
    "authorized",
    "partially_authorized",
}
MEDUSA_COLLECTION = {
    "not_paid",
    "awaiting",
    "authorized",
    "partially_authorized",
    "canceled",
    "failed",
    "partially_captured",
    "completed",
    "chargeback",
}


@given(
    captured=st.integers(min_value=0, max_value=10_000),
    refunded=st.integers(min_value=0, max_value=10_000),
    lost=st.integers(min_value=0, max_value=10_000),
    disputed=st.integers(min_value=0, max_value=10_000),
    voided=st.booleans(),
    authorized=st.integers(min_value=0, max_value=10_000),
)
def test_every_status_is_medusas(
    captured: int, refunded: int, lost: int, disputed: int, voided: bool, authorized: int
) -> None:
    status = payment_status(
        voided=voided,
        captured=captured,
        is_captured=captured > 0,
        refunded=refunded,
        authorized=authorized,
        disputed=disputed,
        lost=lost,
    )
    payment = {"captured": captured, "refunded": refunded, "dispute_lost": lost}
    assert payment_status_out(status, payment) in MEDUSA_ORDER_PAYMENT
    assert COLLECTION_STATUS[status] in MEDUSA_COLLECTION


def test_a_lost_dispute_reads_as_money_returned() -> None:
    whole = {"captured": 2000, "refunded": 500, "dispute_lost": 1500}
    part = {"captured": 2000, "refunded": 0, "dispute_lost": 800}
    assert payment_status_out("dispute_lost", whole) == "refunded"
    assert payment_status_out("dispute_lost", part) == "partially_refunded"
    assert payment_status_out("disputed", part) == "requires_action"
    assert payment_status_out("authorized", {}) == "authorized"
