"""The comparison itself: one payment collection against its PaymentIntents at Stripe.

Pure: the ledger's collection (after the settled facts are recorded) and what Stripe
says, in; the differences that remain, out. Each is ``reported``: nothing here is a
fact the ledger could record on its own.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from commands.reconcile.findings import (
    AMOUNT_DIFFERS,
    AUTHORIZATION_DIFFERS,
    CAPTURE_DIFFERS,
    CAPTURED_AT_STRIPE_ONLY,
    DISPUTE_DIFFERS,
    HOLD_MISSING,
    HOLD_NOT_RELEASED,
    NOT_CAPTURED_AT_STRIPE,
    REFUND_DIFFERS,
    REPORTED,
    Finding,
)
from commands.reconcile.stripe_records import StripeDispute, StripePayment, StripeRefund
from domain.payment_collection import PaymentCollection

OPEN_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")


def ledger_figures(pc: PaymentCollection) -> dict[str, Any]:
    return {
        "status": pc.status,
        "amount": pc.amount,
        "authorized": pc.authorized,
        "captured": pc.captured,
        "refunded": pc.refunded,
        "disputed": pc.disputed,
        "dispute_lost": pc.dispute_lost,
    }


def stripe_figures(
    payments: Sequence[StripePayment],
    refunds: Iterable[StripeRefund],
    disputes: Iterable[StripeDispute],
) -> dict[str, Any]:
    """Stripe's side. Refunds are summed from the refund objects, not the charge's
    ``amount_refunded``: a partial capture's released rest is no refund."""
    disputes = list(disputes)
    main = payments[0]
    return {
        "status": main.status,
        "amount": sum(p.amount for p in payments),
        "holding": sum(p.holds for p in payments),
        "captured": sum(p.captured for p in payments),
        "refunded": sum(r.amount for r in refunds if r.settled),
        "disputed": sum(d.amount for d in disputes if d.outcome is None),
        "dispute_lost": sum(d.amount for d in disputes if d.outcome == "lost"),
    }


def compare(
    pc: PaymentCollection,
    payments: Sequence[StripePayment],
    refunds: Iterable[StripeRefund],
    disputes: Iterable[StripeDispute],
) -> list[Finding]:
    """Differences between the collection and Stripe; ``payments``: the checkout's first."""
    ours, theirs = ledger_figures(pc), stripe_figures(payments, refunds, disputes)
    references = tuple(p.id for p in payments)

    def finding(kind: str, detail: str) -> Finding:
        return Finding(
            kind=kind,
            action=REPORTED,
            payment_intent_id=pc.payment_intent_id,
            order_id=pc.order_id,
            ledger=ours,
            stripe=theirs,
            references=references,
            detail=detail,
        )

    found: list[Finding] = []
    any_succeeded = any(p.status == "succeeded" for p in payments)
    if pc.is_captured:
        if not any_succeeded:
            found.append(
                finding(NOT_CAPTURED_AT_STRIPE, "The ledger captured; Stripe shows no capture.")
            )
        elif theirs["captured"] != pc.captured:
            found.append(
                finding(
                    CAPTURE_DIFFERS,
                    f"The ledger captured {pc.captured}, Stripe {theirs['captured']}.",
                )
            )
    elif pc.voided:
        if theirs["holding"]:
            found.append(
                finding(HOLD_NOT_RELEASED, "The ledger voided the payment; Stripe still holds it.")
            )
        elif any_succeeded:
            found.append(
                finding(CAPTURED_AT_STRIPE_ONLY, "The ledger voided; Stripe captured the money.")
            )
    elif pc.is_authorized:
        if any_succeeded:
            found.append(
                finding(CAPTURED_AT_STRIPE_ONLY, "Captured at Stripe; the ledger has no capture.")
            )
        elif any(p.status in OPEN_STATUSES for p in payments):
            found.append(finding(HOLD_MISSING, "The ledger holds an authorization Stripe lacks."))
        elif theirs["holding"] != pc.authorized:
            found.append(
                finding(
                    AUTHORIZATION_DIFFERS,
                    f"The ledger holds {pc.authorized}, Stripe {theirs['holding']}.",
                )
            )
        elif pc.amount > theirs["holding"]:
            # A change that lowered the amount leaves the hold as it was (the capture
            # takes less); one above the hold would fail at capture.
            found.append(
                finding(AMOUNT_DIFFERS, f"The ledger's amount {pc.amount} exceeds the hold.")
            )
    if theirs["refunded"] != pc.refunded:
        found.append(
            finding(
                REFUND_DIFFERS,
                f"The ledger refunded {pc.refunded}, Stripe {theirs['refunded']}.",
            )
        )
    if theirs["disputed"] != pc.disputed or theirs["dispute_lost"] != pc.dispute_lost:
        found.append(
            finding(
                DISPUTE_DIFFERS,
                f"Disputes open/lost: ledger {pc.disputed}/{pc.dispute_lost}, "
                f"Stripe {theirs['disputed']}/{theirs['dispute_lost']}.",
            )
        )
    return found
