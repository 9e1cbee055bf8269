"""Named errors of the application layer (the API edge maps each to an HTTP status)."""

from domain.errors import DomainError


class NotFound(DomainError):
    """Something named in the request does not exist."""


class CartNotFound(NotFound):
    pass


class OrderNotFound(NotFound):
    pass


class ProductNotFound(NotFound):
    pass


class InvalidRequest(DomainError):
    """The request names something that cannot be used this way."""


class UnknownVariant(InvalidRequest):
    pass


class UnknownRegion(InvalidRequest):
    pass


class UnknownSalesChannel(InvalidRequest):
    pass


class UnknownShippingOption(InvalidRequest):
    pass


class VariantNotPriced(InvalidRequest):
    """The variant has no price in the cart's currency."""


class ShippingOptionNotInRegion(InvalidRequest):
    pass


class InvalidCatalog(InvalidRequest):
    """The catalog file contradicts itself or the catalog already stored."""


class NoStockLocation(DomainError):
    """No stock location of the sales channel (or the shipping option) holds the variant."""


class PaymentSessionMissing(DomainError):
    """The cart has no payment session yet."""


class PaymentNotAuthorized(DomainError):
    """The PaymentIntent is not (or no longer) authorized for capture."""


class OrderNotCreated(DomainError):
    """The payment was authorized but the order could not be placed; the hold was released."""


class IncrementUnavailable(DomainError):
    """The authorization cannot be raised at Stripe and no fallback is configured."""


class VersionMismatch(DomainError):
    """The order changed since the version the client named (If-Match)."""


class CardDeclined(DomainError):
    """The card issuer declined the payment."""


class PaymentProviderUnavailable(DomainError):
    """The card processor did not answer usefully; nothing was recorded."""


class InvalidWebhook(DomainError):
    """A webhook whose signature, timestamp or body cannot be trusted."""


class NotAuthenticated(DomainError):
    """Missing or invalid credentials."""


class PaymentRequestRejected(DomainError):
    """The card processor refused the request (e.g. a PaymentIntent in the wrong state)."""


class NotOurPayment(DomainError):
    """A PaymentIntent that no cart of this ledger started."""


class AmountMismatchAtCheckout(DomainError):
    """The authorized payment differs from the cart's total."""


class ShippingMethodRequired(DomainError):
    """The cart holds goods that are shipped but no shipping method was chosen."""


class ShippingAddressRequired(DomainError):
    """The cart's region ships only to listed countries and the cart has no address."""


class ShippingAddressOutsideRegion(InvalidRequest):
    """The shipping address is in a country the cart's region does not serve."""
