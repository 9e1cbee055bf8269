"""The money side of one order: the authorized hold, its capture, refunds, void.

Every money movement is also kept as a transaction entry (kind, amount, reference,
time), so the history of the collection can be read as a ledger.
"""

from datetime import datetime
from typing import Final, TypedDict
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import (
    AlreadyAuthorized,
    AlreadyCaptured,
    AmountMismatch,
    CaptureExceedsAuthorized,
    InvalidMoney,
    NotAuthorized,
    NotCaptured,
    PaymentDisputed,
    PaymentVoided,
    RefundExceedsCaptured,
)
from domain.ids import payment_collection_id_for
from domain.money import Money
from domain.payment_disputes import (
    DisputeClosed,
    DisputeOpened,
    DisputeRecord,
    MovedAtStripe,
    check_source,
    disputed_amount,
    lost_amount,
    made_by_the_ledger,
    status_of,
)

AUTHORIZATION: Final = "authorization"
INCREMENT: Final = "increment"
CAPTURE: Final = "capture"
REFUND: Final = "refund"
VOID: Final = "void"


class TransactionEntry(TypedDict):
    kind: str
    amount: int
    reference: str
    created_at: datetime


class PaymentCollection(MovedAtStripe, Aggregate):
    """Holds: 0 < amount <= authorized; captured == amount at capture; refunds <= captured."""

    class Created(Aggregate.Created):
        order_id: UUID
        currency: str
        amount: int
        payment_intent_id: str

    class Authorized(Aggregate.Event):
        amount: int
        reference: str
        capture_before: datetime | None

        def apply(self, pc: "PaymentCollection") -> None:
            pc.authorized = self.amount
            pc.holds[pc.payment_intent_id] = self.amount
            pc.authorized_at = self.timestamp
            pc.capture_before = self.capture_before
            pc._record(AUTHORIZATION, self.amount, self.reference, self.timestamp)

    class AuthorizationIncreased(Aggregate.Event):
        authorized: int
        reference: str

        def apply(self, pc: "PaymentCollection") -> None:
            increment = self.authorized - pc.authorized
            pc.authorized = self.authorized
            pc.holds[pc.payment_intent_id] += increment
            pc._record(INCREMENT, increment, self.reference, self.timestamp)

    class SupplementaryAuthorized(Aggregate.Event):
        """A second PaymentIntent holds the difference (where the first cannot be raised)."""

        payment_intent_id: str
        amount: int

        def apply(self, pc: "PaymentCollection") -> None:
            pc.holds[self.payment_intent_id] = self.amount
            pc.authorized += self.amount
            pc._record(AUTHORIZATION, self.amount, self.payment_intent_id, self.timestamp)

    class AmountChanged(Aggregate.Event):
        amount: int

        def apply(self, pc: "PaymentCollection") -> None:
            pc.amount = self.amount

    class CaptureScheduled(Aggregate.Event):
        due_at: datetime

        def apply(self, pc: "PaymentCollection") -> None:
            pc.capture_due_at = self.due_at

    class CaptureFailed(Aggregate.Event):
        reason: str
        attempt: int
        final: bool

        def apply(self, pc: "PaymentCollection") -> None:
            pc.capture_attempts = self.attempt
            pc.capture_failed = self.final
            pc.last_capture_error = self.reason

    class CaptureSucceeded(Aggregate.Event):
        amount: int
        reference: str

        def apply(self, pc: "PaymentCollection") -> None:
            pc.captured_by = dict(pc.capture_plan(self.amount))
            pc.captured = self.amount
            pc.captured_at = self.timestamp
            pc._record(CAPTURE, self.amount, self.reference, self.timestamp)

    class Refunded(Aggregate.Event):
        """A refund: made by the ledger, or at Stripe (``source``) and recorded after."""

        class_version = 2
        amount: int
        reference: str
        reason: str
        source: str = "ledger"
        upcast_v1_v2 = staticmethod(made_by_the_ledger)

        def apply(self, pc: "PaymentCollection") -> None:
            for intent_id, amount in pc.refund_plan(self.amount):
                pc.refunded_by[intent_id] = pc.refunded_by.get(intent_id, 0) + amount
            pc.refunded += self.amount
            pc._record(REFUND, self.amount, self.reference, self.timestamp)

    class Voided(Aggregate.Event):
        class_version = 2
        reference: str
        reason: str
        source: str = "ledger"  # "stripe": canceled or lapsed there
        upcast_v1_v2 = staticmethod(made_by_the_ledger)

        def apply(self, pc: "PaymentCollection") -> None:
            pc.voided = True
            pc._record(VOID, pc.authorized, self.reference, self.timestamp)

    DisputeOpened = DisputeOpened
    DisputeClosed = DisputeClosed

    def __init__(self, order_id: UUID, currency: str, amount: int, payment_intent_id: str) -> None:
        self.order_id = order_id
        self.currency = currency
        self.amount = amount
        self.payment_intent_id = payment_intent_id
        self.authorized = 0
        self.authorized_at: datetime | None = None
        self.capture_before: datetime | None = None
        self.capture_due_at: datetime | None = None
        self.capture_attempts = 0
        self.capture_failed = False
        self.last_capture_error: str | None = None
        self.captured = 0
        self.captured_at: datetime | None = None
        self.refunded = 0
        self.voided = False
        self.transactions: list[TransactionEntry] = []
        # What each PaymentIntent holds, captured and refunded (the first is the checkout's).
        self.holds: dict[str, int] = {}
        self.captured_by: dict[str, int] = {}
        self.refunded_by: dict[str, int] = {}
        self.disputes: dict[str, DisputeRecord] = {}

    def _record(self, kind: str, amount: int, reference: str, at: datetime) -> None:
        self.transactions.append(
            TransactionEntry(kind=kind, amount=amount, reference=reference, created_at=at)
        )

    @classmethod
    def open(
        cls, *, order_id: UUID, amount: Money, payment_intent_id: str, now: datetime
    ) -> "PaymentCollection":
        """Open the collection for an order's total (its id follows from the order's)."""
        _check_positive(amount.amount)
        return cls._create(
            cls.Created,
            id=payment_collection_id_for(order_id),
            timestamp=now,
            order_id=order_id,
            currency=amount.currency,
            amount=amount.amount,
            payment_intent_id=payment_intent_id,
        )

    # --- state --------------------------------------------------------------------------

    @property
    def is_authorized(self) -> bool:
        return self.authorized > 0

    @property
    def is_captured(self) -> bool:
        return self.captured_at is not None

    @property
    def status(self) -> str:
        """See ``payment_disputes.payment_status`` (the one rule)."""
        return status_of(self)

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)

    # --- decisions ----------------------------------------------------------------------

    def authorize(
        self, amount: int, *, reference: str, capture_before: datetime | None, now: datetime
    ) -> None:
        """Record the hold placed on the customer's card; it must cover exactly the amount."""
        self._check_open()
        if self.is_authorized:
            raise AlreadyAuthorized("The payment is authorized already.")
        if type(amount) is not int:
            raise InvalidMoney("A payment amount is a whole number of minor units.")
        if amount != self.amount:
            raise AmountMismatch(
                f"Authorized {self.money(amount)} but the order total is {self.money(self.amount)}."
            )
        self.trigger_event(
            self.Authorized,
            timestamp=now,
            amount=amount,
            reference=reference,
            capture_before=capture_before,
        )

    def increase_authorization(self, authorized: int, *, reference: str, now: datetime) -> None:
        """Record that the hold was raised to ``authorized`` in total."""
        self._check_uncaptured()
        if authorized <= self.authorized:
            raise AmountMismatch("An increment must raise the authorized amount.")
        self.money(authorized)
        self.trigger_event(
            self.AuthorizationIncreased, timestamp=now, authorized=authorized, reference=reference
        )

    def add_supplementary_authorization(
        self, payment_intent_id: str, amount: int, *, now: datetime
    ) -> None:
        """Record a second hold for ``amount`` (the first could not be raised)."""
        self._check_uncaptured()
        _check_positive(amount)
        if payment_intent_id in self.holds:
            raise AlreadyAuthorized(f"{payment_intent_id} is already part of this payment.")
        self.trigger_event(
            self.SupplementaryAuthorized,
            timestamp=now,
            payment_intent_id=payment_intent_id,
            amount=amount,
        )

    @property
    def payment_intent_ids(self) -> list[str]:
        """Every PaymentIntent of this collection, the checkout's first."""
        return list(self.holds) or [self.payment_intent_id]

    def capture_plan(self, amount: int) -> list[tuple[str, int]]:
        """How a capture of ``amount`` splits over the holds: the checkout's first, in order."""
        plan, left = [], amount
        for intent_id, held in (self.holds or {self.payment_intent_id: amount}).items():
            part = min(held, left)
            plan.append((intent_id, part))
            left -= part
        return plan

    def refund_plan(self, amount: int) -> list[tuple[str, int]]:
        """How a refund of ``amount`` splits over what each PaymentIntent captured."""
        plan, left = [], amount
        captured = self.captured_by or {self.payment_intent_id: self.captured}
        for intent_id, taken in captured.items():
            part = min(taken - self.refunded_by.get(intent_id, 0), left)
            if part > 0:
                plan.append((intent_id, part))
                left -= part
        return plan

    def change_amount(self, amount: int, *, now: datetime) -> None:
        """Follow the order's new total; more than the hold needs an increment first."""
        self._check_uncaptured()
        _check_positive(amount)
        self.money(amount)
        if amount > self.authorized:
            raise CaptureExceedsAuthorized(
                f"{self.money(amount)} exceeds the authorized {self.money(self.authorized)}."
            )
        if amount != self.amount:
            self.trigger_event(self.AmountChanged, timestamp=now, amount=amount)

    def schedule_capture(self, due_at: datetime, *, now: datetime) -> None:
        self._check_uncaptured()
        if due_at != self.capture_due_at:
            self.trigger_event(self.CaptureScheduled, timestamp=now, due_at=due_at)

    def record_capture_failure(self, reason: str, *, final: bool, now: datetime) -> None:
        self._check_uncaptured()
        self.trigger_event(
            self.CaptureFailed,
            timestamp=now,
            reason=reason[:500],
            attempt=self.capture_attempts + 1,
            final=final,
        )

    def check_capturable(self, amount: int) -> None:
        """Raise unless ``amount`` may be captured now (call before asking Stripe)."""
        self._check_uncaptured()
        if amount != self.amount:
            raise AmountMismatch(
                f"Capture of {self.money(amount)} differs from the amount {self.money(self.amount)}."
            )
        _check_positive(amount)
        if amount > self.authorized:
            raise CaptureExceedsAuthorized(
                f"Capture of {self.money(amount)} exceeds the authorized {self.money(self.authorized)}."
            )

    def capture(self, amount: int, *, reference: str, now: datetime) -> None:
        """Record the capture of ``amount`` (the current amount; the rest of the hold lapses)."""
        self.check_capturable(amount)
        self.trigger_event(self.CaptureSucceeded, timestamp=now, amount=amount, reference=reference)

    def check_refundable(self, amount: int) -> None:
        if self.voided:
            raise PaymentVoided("The payment was voided; nothing can be refunded.")
        if not self.is_captured:
            raise NotCaptured("Only a captured payment can be refunded.")
        _check_positive(amount)
        if disputed_amount(self.disputes):
            raise PaymentDisputed("A dispute is open on this payment; it cannot be refunded now.")
        gone = self.refunded + lost_amount(self.disputes)
        if gone + amount > self.captured:
            raise RefundExceedsCaptured(
                f"Refunding {self.money(amount)} would exceed the captured "
                f"{self.money(self.captured)} (already refunded {self.money(self.refunded)}"
                f", lost in disputes {self.money(gone - self.refunded)})."
            )

    def refund(self, amount: int, *, reference: str, reason: str, now: datetime) -> None:
        self.check_refundable(amount)
        self.trigger_event(
            self.Refunded, timestamp=now, amount=amount, reference=reference, reason=reason[:500]
        )

    def check_voidable(self) -> None:
        if self.is_captured:
            raise AlreadyCaptured("A captured payment cannot be voided; refund it instead.")
        if self.voided:
            raise PaymentVoided("The payment is voided already.")

    def void(self, *, reference: str, reason: str, now: datetime, source: str = "ledger") -> None:
        """Release the hold (the order was canceled or the authorization was canceled)."""
        self.check_voidable()
        check_source(source)
        self.trigger_event(
            self.Voided, timestamp=now, reference=reference, reason=reason[:500], source=source
        )

    def _check_open(self) -> None:
        if self.voided:
            raise PaymentVoided("The payment was voided.")
        if self.is_captured:
            raise AlreadyCaptured("The payment is captured already.")

    def _check_uncaptured(self) -> None:
        self._check_open()
        if not self.is_authorized:
            raise NotAuthorized("The payment is not authorized.")

    @staticmethod
    def id_for(order_id: UUID) -> UUID:
        return payment_collection_id_for(order_id)


def _check_positive(amount: int) -> None:
    if type(amount) is not int or amount <= 0:
        raise InvalidMoney("A payment amount must be a positive whole number of minor units.")
