"""What every use case may use, handed over by the composition root in ``infra``."""

from dataclasses import dataclass
from datetime import timedelta

from commands.catalog import CatalogStore
from commands.ledger import Ledger
from commands.ports import Clock, Locks, PaymentGateway, Secrets, WebhookInbox


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
