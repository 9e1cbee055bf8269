"""Money that moved at Stripe, outside the ledger's own commands: disputes (chargebacks).

A card holder's dispute withdraws the disputed amount from the shop's balance when it
is opened; it comes back if the shop wins and is gone for good if the shop loses.
These events are nested on ``PaymentCollection`` (assigned there) and say where the
fact came from: ``source`` is ``"stripe"`` (a webhook) or ``"reconciliation"``.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, TypedDict

from eventsourcing.domain import Aggregate

from domain.errors import InvalidMoney, NotCaptured, RefundExceedsCaptured
from domain.money import Money

if TYPE_CHECKING:  # pragma: no cover
    from domain.payment_collection import PaymentCollection, TransactionEntry

DISPUTE: Final = "dispute"  # the disputed amount withdrawn while the dispute is open
DISPUTE_WON: Final = "dispute_won"  # ... given back
DISPUTE_LOST: Final = "dispute_lost"  # ... gone for good
OPEN: Final = "open"
WON: Final = "won"
LOST: Final = "lost"
SOURCES: Final = ("ledger", "stripe", "reconciliation")


class DisputeRecord(TypedDict):
    amount: int
    status: str  # open | won | lost


class DisputeOpened(Aggregate.Event):
    dispute_id: str
    amount: int
    reason: str
    source: str

    def apply(self, pc: "PaymentCollection") -> None:
        pc.disputes[self.dispute_id] = DisputeRecord(amount=self.amount, status=OPEN)
        pc._record(DISPUTE, self.amount, self.dispute_id, self.timestamp)


class DisputeClosed(Aggregate.Event):
    dispute_id: str
    amount: int
    outcome: str  # won | lost
    source: str

    def apply(self, pc: "PaymentCollection") -> None:
        pc.disputes[self.dispute_id] = DisputeRecord(amount=self.amount, status=self.outcome)
        kind = DISPUTE_WON if self.outcome == WON else DISPUTE_LOST
        pc._record(kind, self.amount, self.dispute_id, self.timestamp)


def disputed_amount(disputes: dict[str, DisputeRecord]) -> int:
    """What open disputes hold."""
    return sum(d["amount"] for d in disputes.values() if d["status"] == OPEN)


def lost_amount(disputes: dict[str, DisputeRecord]) -> int:
    """What lost disputes took for good."""
    return sum(d["amount"] for d in disputes.values() if d["status"] == LOST)


def payment_status(
    *,
    voided: bool,
    captured: int,
    is_captured: bool,
    refunded: int,
    authorized: int,
    disputed: int = 0,
    lost: int = 0,
) -> str:
    """The one rule for a payment's status, from its amounts.

    ``pending``, ``authorized``, ``captured``, ``partially_refunded``, ``refunded``,
    ``canceled`` (voided), ``disputed`` (a dispute is open) or ``dispute_lost``.
    """
    if voided:
        return "canceled"
    if is_captured:
        if disputed:
            return "disputed"
        if lost:
            return "dispute_lost"
        if refunded == 0:
            return "captured"
        return "refunded" if refunded >= captured else "partially_refunded"
    return "authorized" if authorized > 0 else "pending"


class PaymentAmounts(Protocol):
    """What the status rule reads of a payment: the aggregate, and the audit's fold."""

    @property
    def voided(self) -> bool: ...
    @property
    def captured(self) -> int: ...
    @property
    def is_captured(self) -> bool: ...
    @property
    def refunded(self) -> int: ...
    @property
    def authorized(self) -> int: ...
    @property
    def disputed(self) -> int: ...  # what open disputes hold
    @property
    def dispute_lost(self) -> int: ...  # what lost disputes took


def status_of(payment: PaymentAmounts) -> str:
    """``payment_status`` of a payment's amounts."""
    return payment_status(
        voided=payment.voided,
        captured=payment.captured,
        is_captured=payment.is_captured,
        refunded=payment.refunded,
        authorized=payment.authorized,
        disputed=payment.disputed,
        lost=payment.dispute_lost,
    )


def made_by_the_ledger(state: dict[str, Any]) -> None:
    """Upcast: refunds and voids stored before ``source`` existed were the ledger's own."""
    state["source"] = "ledger"


def check_source(source: str) -> None:
    if source not in SOURCES:
        raise InvalidMoney(f"Unknown source of a money movement: {source!r}.")


class MovedAtStripe:
    """``PaymentCollection``'s decisions on facts reported by Stripe.

    Each returns False when the fact is recorded already (a webhook delivered twice,
    reconcile after the webhook, the ledger's own refund reported back): a fact is
    recorded once, whichever way it arrives.
    """

    if TYPE_CHECKING:  # what this part reads of PaymentCollection
        captured: int
        refunded: int
        voided: bool
        disputes: dict[str, DisputeRecord]
        transactions: list[TransactionEntry]
        Refunded: type[Aggregate.Event]
        # The aggregate's own subclasses of the two dispute events below.
        DisputeOpened: type[Aggregate.Event]
        DisputeClosed: type[Aggregate.Event]

        @property
        def is_captured(self) -> bool: ...

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

        def money(self, amount: int) -> Money: ...

    @property
    def refund_ids(self) -> set[str]:
        """Every Stripe refund id recorded (a ledger refund may name several)."""
        return {
            part
            for entry in self.transactions
            if entry["kind"] == "refund"
            for part in entry["reference"].split(",")
        }

    @property
    def disputed(self) -> int:
        return disputed_amount(self.disputes)

    @property
    def dispute_lost(self) -> int:
        return lost_amount(self.disputes)

    def _check_within_capture(self, amount: int, what: str) -> None:
        if type(amount) is not int or amount <= 0:
            raise InvalidMoney("A payment amount must be a positive whole number of minor units.")
        if self.voided or not self.is_captured:
            raise NotCaptured(f"Stripe reports {what} of a payment the ledger has not captured.")
        if self.refunded + self.dispute_lost + amount > self.captured:
            raise RefundExceedsCaptured(
                f"Stripe's {what} of {self.money(amount)} exceeds what is left of the "
                f"captured {self.money(self.captured)}."
            )

    def record_stripe_refund(
        self, amount: int, *, reference: str, reason: str, source: str, now: datetime
    ) -> bool:
        """Record a refund made at Stripe (``reference``: its ``re_`` id)."""
        if reference in self.refund_ids:
            return False
        check_source(source)
        self._check_within_capture(amount, "a refund")
        self.trigger_event(
            self.Refunded,
            timestamp=now,
            amount=amount,
            reference=reference,
            reason=reason[:500],
            source=source,
        )
        return True

    def open_dispute(
        self, dispute_id: str, amount: int, *, reason: str, source: str, now: datetime
    ) -> bool:
        """Record a dispute opened at Stripe: ``amount`` is withdrawn while it is open."""
        if dispute_id in self.disputes:
            return False
        check_source(source)
        self._check_within_capture(amount, "a dispute")
        self.trigger_event(
            self.DisputeOpened,
            timestamp=now,
            dispute_id=dispute_id,
            amount=amount,
            reason=reason[:500],
            source=source,
        )
        return True

    def close_dispute(
        self, dispute_id: str, amount: int, *, won: bool, source: str, now: datetime
    ) -> bool:
        """Record a dispute's outcome (its opening first, if that was never reported)."""
        known = self.disputes.get(dispute_id)
        if known is not None and known["status"] != OPEN:
            return False
        check_source(source)
        if not won:  # the amount Stripe closes it for may differ from the one it opened with
            self._check_within_capture(amount, "a lost dispute")
        if known is None:
            self.open_dispute(dispute_id, amount, reason="", source=source, now=now)
        self.trigger_event(
            self.DisputeClosed,
            timestamp=now,
            dispute_id=dispute_id,
            amount=amount,
            outcome=WON if won else LOST,
            source=source,
        )
        return True
