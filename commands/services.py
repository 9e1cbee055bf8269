"""What every use case may use, handed over by the composition root in ``infra``.

Only ports (adapters) and the one frozen ``ShopPolicy``: ``infra.wiring.wire_services``
builds it, for the real processes and for the use-case tests' fakes alike.
"""

from dataclasses import dataclass, field

from commands.catalog import CatalogStore
from commands.ledger import Ledger
from commands.policy import ShopPolicy
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


@dataclass(frozen=True)
class Services:
    ledger: Ledger
    catalog: CatalogStore
    payments: PaymentGateway
    locks: Locks
    webhooks: WebhookInbox
    secrets: Secrets
    clock: Clock
    timers: CaptureTimers
    alerts: OpsAlerts
    policy: ShopPolicy
    telemetry: Telemetry = field(default_factory=NoTelemetry)
    # Read-only Stripe for money moved there (refunds, disputes); None: not configured.
    stripe_records: StripeRecords | None = None
