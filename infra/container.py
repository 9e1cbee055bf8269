"""The composition root: builds every adapter from the settings and wires the use cases."""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from commands.ledger import Ledger
from commands.notify.ports import Mailer
from commands.ports import Locks
from commands.services import Services
from infra.admin_keys import AdminKeys
from infra.alerts import LoggingAlerts
from infra.catalog_cache import CatalogListener, cached_catalog
from infra.database import apply_ssl_environment, event_store_env
from infra.embedded_db import EmbeddedDatabase, start_embedded_postgres
from infra.files import Files, build_files
from infra.locks import PostgresLocks, RedisLocks
from infra.notification_store import begin_notifications
from infra.ops_store import PostgresSecrets, PostgresWebhookInbox
from infra.pg import Pool, open_pool
from infra.pii.customers import Customers
from infra.pii.setup import enable_personal_data
from infra.projection_runtime import ProjectionRuntime
from infra.publishable_keys import PublishableKeys
from infra.read_models import PostgresReadModels
from infra.read_replicas import Standbys, standby_urls
from infra.resend_mailer import build_mailer
from infra.schema import create_tables
from infra.settings import Settings
from infra.standby_reads import StandbyReads
from infra.stored_reader import attach_stored_reader
from infra.stripe_gateway import StripeGateway, StripeWebhookVerifier
from infra.stripe_records import StripeRecordsReader
from infra.timers import NoTimers, RedisCaptureTimers

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    settings: Settings
    database_url: str
    pool: Pool
    ledger: Ledger
    services: Services
    admin_keys: AdminKeys
    publishable_keys: PublishableKeys
    webhook_verifier: StripeWebhookVerifier
    redis: "redis.Redis | None"
    projections: ProjectionRuntime
    read_models: PostgresReadModels
    mailer: Mailer
    embedded: "EmbeddedDatabase | None" = None
    files: "Files | None" = None
    customers: "Customers | None" = None
    standbys: "Standbys | None" = None  # READ_DATABASE_URL (infra.read_replicas)
    catalog_listener: CatalogListener | None = None

    def close(self) -> None:
        if self.catalog_listener is not None:
            self.catalog_listener.stop()
        if self.standbys is not None:
            self.standbys.close()
        self.read_models.close()
        self.ledger.close()
        self.pool.close()
        if self.redis is not None:
            self.redis.close()
        if self.embedded is not None:
            self.embedded.stop()


def open_ledger(pool: Pool, database_url: str) -> Ledger:
    """The event store, its tables made if missing (one process at a time)."""
    with pool.connection() as conn:
        # The library creates its tables and replaces its insert function at every
        # start, unlocked: processes starting together would trip over each other.
        conn.execute("SELECT pg_advisory_lock(hashtext('orderledger-event-store-setup'))")
        try:
            return attach_stored_reader(Ledger(env=event_store_env(database_url)))
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('orderledger-event-store-setup'))")


def build_container(settings: Settings) -> Container:
    """Everything the service needs, from DATABASE_URL or an embedded PostgreSQL."""
    embedded = None
    url = settings.database_url
    if not url:
        log.info("DATABASE_URL is unset: embedded PostgreSQL in %s", settings.data_dir)
        embedded = start_embedded_postgres(Path(settings.data_dir))
        url = embedded.url
    apply_ssl_environment(url)
    pool = open_pool(url)
    create_tables(pool)
    ledger = open_ledger(pool, url)
    personal = enable_personal_data(settings, pool, ledger)
    begin_notifications(pool, ledger.head)
    redis_client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    locks: Locks = RedisLocks(redis_client) if redis_client else PostgresLocks(pool)
    payments = StripeGateway(
        settings.stripe_api_key.get_secret_value(),
        settings.stripe_api_base,
        request_incremental=settings.stripe_request_incremental_authorization,
    )
    catalog, catalog_listener = cached_catalog(pool, settings.catalog_cache_seconds)
    services = Services(
        ledger=ledger,
        catalog=catalog,
        payments=payments,
        locks=locks,
        webhooks=PostgresWebhookInbox(pool),
        secrets=PostgresSecrets(pool),
        clock=utc_now,
        capture_grace=timedelta(seconds=settings.capture_grace_seconds),
        increment_fallback=settings.increment_fallback,
        order_token_lifetime=timedelta(days=settings.order_token_days),
        timers=RedisCaptureTimers(redis_client) if redis_client else NoTimers(),
        alerts=LoggingAlerts(),
        stripe_records=StripeRecordsReader(
            settings.stripe_api_key.get_secret_value(), settings.stripe_api_base
        ),
    )
    projections = ProjectionRuntime(ledger, pool)
    for stale in projections.ensure():
        log.info("projection %s changed shape: rebuilding it", stale)
        projections.rebuild(stale)
    secret = settings.stripe_webhook_secret
    standbys = build_standbys(settings, url)
    return Container(
        settings=settings,
        database_url=url,
        pool=pool,
        ledger=ledger,
        services=services,
        admin_keys=AdminKeys(pool),
        publishable_keys=PublishableKeys(pool),
        webhook_verifier=StripeWebhookVerifier(secret.get_secret_value() if secret else None),
        redis=redis_client,
        projections=projections,
        read_models=PostgresReadModels(
            pool, projections, StandbyReads(standbys) if standbys else None
        ),
        mailer=build_mailer(settings),
        embedded=embedded,
        files=build_files(settings, pool, services.secrets),
        customers=Customers(ledger, pool, personal, utc_now) if personal else None,
        standbys=standbys,
        catalog_listener=catalog_listener,
    )


def build_standbys(settings: Settings, primary_url: str) -> "Standbys | None":
    """The hot standbys of READ_DATABASE_URL; their monitor starts with the API."""
    urls = standby_urls(settings.read_database_url)
    if not urls:
        return None
    return Standbys(primary_url, urls, max_lag_seconds=settings.read_standby_max_lag_seconds)
