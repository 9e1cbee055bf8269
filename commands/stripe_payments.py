"""Every call that moves money at Stripe: holds released, captures, refunds.

One home for the idempotency keys, so that a retried call after a crash returns the
first result instead of moving money again:

- ``cancel:{payment_intent_id}`` releases a hold (a void, a supplementary hold with no
  share, a checkout that could not place its order, an orphan nobody owns);
- ``capture:{payment_collection_id}`` captures the main PaymentIntent's share, and
  ``capture:{payment_collection_id}:{payment_intent_id}`` a supplementary one's;
- ``refund:{payment_collection_id}:request:{digest}`` is the refund one request asked
  for, named by the caller's own Idempotency-Key (so that a retry after a crash whose
  refund Stripe's webhook recorded meanwhile is still the same refund), and
  ``refund:{payment_collection_id}:{version}`` the collection's n-th refund where the
  caller named none (each with ``:{payment_intent_id}`` for a supplementary
  PaymentIntent's share).
"""

import hashlib
import logging

from commands.ports import PaymentGateway, PaymentIntent
from domain.errors import DomainError

log = logging.getLogger(__name__)


def release_hold(payments: PaymentGateway, payment_intent_id: str) -> PaymentIntent:
    """Cancel the PaymentIntent's uncaptured hold (once, whatever the retries)."""
    return payments.cancel_payment_intent(
        payment_intent_id, idempotency_key=f"cancel:{payment_intent_id}"
    )


def release_hold_quietly(
    payments: PaymentGateway, payment_intent_id: str, reason: str
) -> PaymentIntent | None:
    """Release a hold where failing must not stop the caller: logged, None returned."""
    try:
        return release_hold(payments, payment_intent_id)
    except DomainError as error:  # already canceled, or Stripe unreachable: say so, go on
        log.warning("could not release hold %s (%s): %s", payment_intent_id, reason, error)
        return None


def capture_share(
    payments: PaymentGateway,
    payment_collection_id: object,
    payment_intent_id: str,
    amount: int,
    *,
    main: bool,
) -> PaymentIntent:
    """Capture ``amount`` of one PaymentIntent of the collection."""
    key = _share_key(f"capture:{payment_collection_id}", payment_intent_id, main=main)
    return payments.capture_payment_intent(payment_intent_id, amount=amount, idempotency_key=key)


def refund_name(version: int, request_key: str | None) -> str:
    """Which refund of the collection this is: the request's, or the n-th (``version``)."""
    if request_key is None:
        return str(version)
    return "request:" + hashlib.sha256(request_key.encode()).hexdigest()[:32]


def refund_share(
    payments: PaymentGateway,
    payment_collection_id: object,
    refund: str,
    payment_intent_id: str,
    amount: int,
    *,
    main: bool,
) -> str:
    """Refund ``amount`` of one PaymentIntent: the collection's refund named ``refund``."""
    key = _share_key(f"refund:{payment_collection_id}:{refund}", payment_intent_id, main=main)
    return payments.refund_payment_intent(payment_intent_id, amount=amount, idempotency_key=key)


def _share_key(key: str, payment_intent_id: str, *, main: bool) -> str:
    """The collection's key for its main PaymentIntent; a supplementary one's names it."""
    return key if main else f"{key}:{payment_intent_id}"
