"""The shop's policy values, in one frozen object built once from the settings.

Built by ``infra.wiring.shop_policy`` (the one function that reads them from
``Settings``) and handed to every use case as ``Services.policy``.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

from domain.capture_timing import CapturePolicy

# An order's access token opens it (changes, verified reviews) this long after placing.
ORDER_TOKEN_LIFETIME: Final = timedelta(days=90)

IncrementFallback = Literal["supplementary", "none"]


@dataclass(frozen=True)
class ShopPolicy:
    """When payments are captured, what to do where a hold cannot grow, how long tokens open."""

    capture: CapturePolicy
    # Where Stripe cannot raise a hold: "supplementary" (a second PaymentIntent on the
    # saved card for the difference) or "none" (refuse the change with a 409).
    increment_fallback: IncrementFallback = "supplementary"
    order_token_lifetime: timedelta = ORDER_TOKEN_LIFETIME
