"""What every use case may use, handed over by the composition root in ``infra``."""

from dataclasses import dataclass, field
from datetime import timedelta

from commands.catalog import CatalogStore
from commands.ledger import Ledger
from commands.ports import (
    CaptureTimers,
    Clock,
    Locks,
    NoTelemetry,
    OpsAlerts,
    PaymentGateway,
    Secrets,
    Telemetry,
    WebhookInbox,
)
from commands.reconcile.stripe_records import StripeRecords
from domain.capture_timing import (
    AUTHORIZATION_LIFETIME,
    EXPIRY_MARGIN,
    MAX_CAPTURE_ATTEMPTS,
    CapturePolicy,
)


@dataclass
class Services:
    ledger: Ledger
    catalog: CatalogStore
    payments: PaymentGateway
    locks: Locks
    webhooks: WebhookInbox
    secrets: Secrets
    clock: Clock
    capture_grace: timedelta
    timers: CaptureTimers
    alerts: OpsAlerts
    telemetry: Telemetry = field(default_factory=NoTelemetry)
    # Authorizations lapse (7 days at Stripe unless it says otherwise); capture this early.
    authorization_lifetime: timedelta = AUTHORIZATION_LIFETIME
    expiry_margin: timedelta = EXPIRY_MARGIN
    max_capture_attempts: int = MAX_CAPTURE_ATTEMPTS
    # Where Stripe cannot raise a hold: "supplementary" (a second PaymentIntent on the
    # saved card for the difference) or "none" (refuse the change with a 409).
    increment_fallback: str = "supplementary"
    # Read-only Stripe for money moved there (refunds, disputes); None: not configured.
    stripe_records: StripeRecords | None = None
    # An order's access token opens it (changes, verified reviews) this long after placing.
    order_token_lifetime: timedelta = timedelta(days=90)

    @property
    def capture_policy(self) -> CapturePolicy:
        """The capture timing rules' one policy (``domain.capture_timing``)."""
        return CapturePolicy(
            grace=self.capture_grace,
            authorization_lifetime=self.authorization_lifetime,
            expiry_margin=self.expiry_margin,
            max_attempts=self.max_capture_attempts,
        )
