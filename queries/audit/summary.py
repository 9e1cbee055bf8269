"""Counts and sums of money movements per currency and kind (verify's and export's summary)."""

from domain.payment_disputes import DISPUTE_LOST
from queries.audit.fold import CAPTURE, KINDS, REFUND

Summary = dict[str, dict[str, dict[str, int]]]


class MoneySummary:
    """Adds up movements; ``as_dict`` is the same shape wherever it is shown or exported."""

    def __init__(self) -> None:
        self._totals: dict[tuple[str, str], list[int]] = {}

    def add(self, currency: str, kind: str, amount: int) -> None:
        total = self._totals.get((currency, kind))
        if total is None:
            total = self._totals[(currency, kind)] = [0, 0]
        total[0] += 1
        total[1] += amount

    @property
    def movements(self) -> int:
        return sum(count for count, _ in self._totals.values())

    def as_dict(self) -> Summary:
        """``{currency: {kind: {"count", "amount"}, "net_captured": {...}}}``, minor units.

        ``net_captured`` is what the shop kept: captures less refunds and lost disputes.
        """
        result: Summary = {}
        for currency in sorted({currency for currency, _ in self._totals}):
            per_kind = {}
            for kind in KINDS:
                count, amount = self._totals.get((currency, kind), (0, 0))
                per_kind[kind] = {"count": count, "amount": amount}
            captured = (
                per_kind[CAPTURE]["amount"]
                - per_kind[REFUND]["amount"]
                - per_kind[DISPUTE_LOST]["amount"]
            )
            per_kind["net_captured"] = {"count": per_kind[CAPTURE]["count"], "amount": captured}
            result[currency] = per_kind
        return result
