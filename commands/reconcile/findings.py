"""What reconcile finds: one ``Finding`` per difference, with both sides' figures.

``action`` says what was done about it: ``recorded`` (a settled fact at Stripe, now
in the ledger with ``source="reconciliation"``), ``released`` (an orphan hold
canceled at Stripe) or ``reported`` (nothing changed: a human must look; the run
exits 1 and alerts).
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

RECORDED = "recorded"
RELEASED = "released"
REPORTED = "reported"

# Kinds that are reported (never fixed silently).
CAPTURE_DIFFERS = "capture_differs"
CAPTURED_AT_STRIPE_ONLY = "captured_at_stripe_only"
NOT_CAPTURED_AT_STRIPE = "not_captured_at_stripe"
AUTHORIZATION_DIFFERS = "authorization_differs"
AMOUNT_DIFFERS = "amount_differs"
HOLD_MISSING = "hold_missing"
HOLD_NOT_RELEASED = "hold_not_released"
REFUND_DIFFERS = "refund_differs"
DISPUTE_DIFFERS = "dispute_differs"
MISSING_AT_STRIPE = "missing_at_stripe"
UNEXPLAINED = "unexplained_at_stripe"  # a fact at Stripe the ledger refused to record
ORPHAN_HOLD = "orphan_hold"


@dataclass(frozen=True)
class Finding:
    kind: str
    action: str
    payment_intent_id: str
    order_id: UUID | None = None
    ledger: dict[str, Any] = field(default_factory=dict)
    stripe: dict[str, Any] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "order_id": str(self.order_id) if self.order_id else None,
            "payment_intent_id": self.payment_intent_id,
            "ledger": self.ledger,
            "stripe": self.stripe,
            "references": list(self.references),
            "detail": self.detail,
        }


@dataclass
class ReconcileReport:
    since: datetime
    started_at: datetime
    finished_at: datetime | None = None
    payment_intents: int = 0  # read at Stripe
    collections: int = 0  # of the ledger, compared
    refunds: int = 0
    disputes: int = 0
    rate_limited: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def reported(self) -> list[Finding]:
        return [f for f in self.findings if f.action == REPORTED]

    @property
    def ok(self) -> bool:
        """Nothing unexplained (recorded facts and released orphans are explained)."""
        return not self.reported

    def counts(self) -> dict[str, int]:
        by_kind: dict[str, int] = {}
        for finding in self.findings:
            by_kind[finding.kind] = by_kind.get(finding.kind, 0) + 1
        return by_kind

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "ok": self.ok,
            "payment_intents": self.payment_intents,
            "collections": self.collections,
            "refunds": self.refunds,
            "disputes": self.disputes,
            "rate_limited": self.rate_limited,
            "counts": self.counts(),
            "recorded": sum(f.action == RECORDED for f in self.findings),
            "released": sum(f.action == RELEASED for f in self.findings),
            "reported": len(self.reported),
            "findings": [f.as_json() for f in self.findings],
        }
