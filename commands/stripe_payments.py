"""Every call that moves money at Stripe: holds released, captures, refunds.

One home for the idempotency keys, so that a retried call after a crash returns the
first result instead of moving money again:

- ``cancel:{payment_intent_id}`` releases a hold (a void, a supplementary hold with no
  share, a checkout that could not place its order, an orphan nobody owns);
- ``capture:{payment_collection_id}`` captures the main PaymentIntent's share, and
  ``capture:{payment_collection_id}:{payment_intent_id}`` a supplementary one's;
- ``refund:{payment_collection_id}:{version}`` is the collection's n-th refund (with
  ``:{payment_intent_id}`` for a supplementary PaymentIntent's share).
"""

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


def refund_share(
    payments: PaymentGateway,
    payment_collection_id: object,
    version: int,
    payment_intent_id: str,
    amount: int,
    *,
    main: bool,
) -> str:
    """Refund ``amount`` of one PaymentIntent: the collection's refund at ``version``."""
    key = _share_key(f"refund:{payment_collection_id}:{version}", payment_intent_id, main=main)
    return payments.refund_payment_intent(payment_intent_id, amount=amount, idempotency_key=key)


def _share_key(key: str, payment_intent_id: str, *, main: bool) -> str:
    """The collection's key for its main PaymentIntent; a supplementary one's names it."""
    return key if main else f"{key}:{payment_intent_id}"
