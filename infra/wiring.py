"""The bootstrap's seam: the shop's policy from the settings, and the use cases' ports wired.

``infra.container.build_container`` calls ``wire_services`` with the real adapters; the
use-case tests call it with the eventsourcing in-memory store, a fake Stripe and a fake
clock (``tests/unit/commands/fakes.py``). One function reads the policy values from
``Settings``: a change of the grace rule's inputs is a change here and in
``domain.capture_timing``, nowhere else.
"""

from datetime import timedelta

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
from commands.services import Services
from domain.capture_timing import CapturePolicy
from infra.settings import Settings


def shop_policy(settings: Settings) -> ShopPolicy:
    """The one frozen policy of this configuration (CAPTURE_GRACE_SECONDS, ...)."""
    return ShopPolicy(
        capture=CapturePolicy(grace=timedelta(seconds=settings.capture_grace_seconds)),
        increment_fallback=settings.increment_fallback,
        order_token_lifetime=timedelta(days=settings.order_token_days),
    )


def wire_services(
    settings: Settings,
    *,
    ledger: Ledger,
    catalog: CatalogStore,
    payments: PaymentGateway,
    locks: Locks,
    webhooks: WebhookInbox,
    secrets: Secrets,
    clock: Clock,
    timers: CaptureTimers,
    alerts: OpsAlerts,
    telemetry: Telemetry | None = None,
    stripe_records: StripeRecords | None = None,
) -> Services:
    """What every use case may use: these ports and the policy from ``settings``."""
    return Services(
        ledger=ledger,
        catalog=catalog,
        payments=payments,
        locks=locks,
        webhooks=webhooks,
        secrets=secrets,
        clock=clock,
        timers=timers,
        alerts=alerts,
        policy=shop_policy(settings),
        telemetry=telemetry if telemetry is not None else NoTelemetry(),
        stripe_records=stripe_records,
    )
