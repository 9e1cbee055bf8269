"""Named domain errors. The API edge maps each name to an HTTP status in one table."""


class DomainError(Exception):
    """A business rule refused the command. Nothing was recorded."""

    @property
    def name(self) -> str:
        return type(self).__name__


class InvalidMoney(DomainError):
    """An amount or currency is not acceptable."""


class UnknownCurrency(InvalidMoney):
    """The currency code is not in the exponent table."""


class CurrencyMismatch(InvalidMoney):
    """Arithmetic or comparison across two currencies."""


class InvalidQuantity(DomainError):
    """A quantity is not a whole number in the accepted range."""


class InsufficientStock(DomainError):
    """Reserving would take available stock below zero without backorders."""


class ReleaseExceedsReserved(DomainError):
    """More units released than are reserved."""


class InvalidInventoryChange(DomainError):
    """A stock adjustment would break the level's invariants."""


class PaymentStateConflict(DomainError):
    """The payment collection is not in a state that allows this."""


class AlreadyAuthorized(PaymentStateConflict):
    """The payment collection has been authorized before."""


class NotAuthorized(PaymentStateConflict):
    """The payment collection has no authorization yet."""


class AlreadyCaptured(PaymentStateConflict):
    """The payment has been captured; it cannot be captured twice."""


class NotCaptured(PaymentStateConflict):
    """Refunds need a captured payment."""


class PaymentVoided(PaymentStateConflict):
    """The authorization was voided; no further money moves."""


class CaptureExceedsAuthorized(PaymentStateConflict):
    """More money would be captured than is authorized."""


class RefundExceedsCaptured(PaymentStateConflict):
    """The refunds would add up to more than was captured."""


class AmountMismatch(PaymentStateConflict):
    """Two amounts that must agree do not."""


class OrderNotEditable(DomainError):
    """The order was captured, canceled, or its grace period has ended."""


class OrderStateConflict(DomainError):
    """The order is not in a state that allows this."""


class UnknownLineItem(DomainError):
    """No line item with that id."""


class CartStateConflict(DomainError):
    """The cart cannot take this change (completed, empty, ...)."""


class InvalidRequestValue(DomainError):
    """A value in the request is malformed (an e-mail address, say)."""


class TooManyChanges(DomainError):
    """A cart or order has taken as many changes as it may."""


class PaymentDisputed(PaymentStateConflict):
    """A dispute (chargeback) is open on the payment: the money is held by the card network."""
