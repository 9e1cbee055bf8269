"""The bootstrap: builds, once, from the settings, every part a process uses.

Three depths, each built on the one before, and nothing is set on a part after it is made:

- ``open_database``: the pool and the tables, admin and publishable keys, the catalog store
  (what the light CLI verbs use: ``admin``, ``publishable-key``).
- ``open_ledger_and_views``: also the event store and the views' tables, no view rebuilt
  (``db init``, ``projections status`` and ``rebuild``).
- ``build_container``: everything the API, ``orderledger worker``, ``orderledger dev`` and
  the other CLI verbs use: views of a changed shape rebuilt, Stripe, Redis, the standbys,
  the metrics (and the ledger's append observer), the API's rate store and client
  identities, and the worker's parts (``WorkerParts``).

The use cases' ports come in through ``infra.wiring.wire_services``, the seam the use-case
tests' fakes use too.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import redis

from commands.catalog import CatalogStore
from commands.ledger import Ledger
from commands.notify.notifier import Notifier
from commands.notify.ports import Mailer
from commands.notify.sender import Sender
from commands.order_changes import authorize_customer
from commands.ports import Clock, Locks
from commands.process_manager import ProcessManager
from commands.services import Services
from infra.admin_keys import AdminKeys
from infra.alerts import LoggingAlerts
from infra.backorder_alerts import BackorderAlerts
from infra.catalog_cache import CatalogListener, cached_catalog
from infra.catalog_store import PostgresCatalog
from infra.database import apply_ssl_environment, event_store_env
from infra.duties import DutyHolders, duties_expected, duty_holders
from infra.embedded_db import EmbeddedDatabase, start_embedded_postgres
from infra.files import Files, build_files
from infra.health import worker_beats
from infra.health_metrics import WorkerHeartbeats
from infra.locks import PostgresLocks, RedisLocks
from infra.medusa.catalog_reads import MedusaCatalogReads
from infra.notification_store import PostgresDeliveryLog, begin_notifications
from infra.notify_listener import ChannelListener
from infra.ops_store import PostgresSecrets, PostgresWebhookInbox
from infra.pg import Pool, open_pool
from infra.pii.customers import Customers
from infra.pii.mapper import PersonalData, sealing
from infra.pii.setup import enable_personal_data, forget_on_erasure
from infra.projection_runtime import ProjectionRuntime
from infra.publishable_keys import PublishableKeys, StorefrontKeys
from infra.read_models import PostgresReadModels
from infra.read_replicas import StandbyMetrics, Standbys, standby_urls
from infra.reconciliation import FindingsGauge, ReconciliationRuns
from infra.resend_mailer import build_mailer
from infra.schema import create_tables
from infra.settings import Settings
from infra.standby_reads import StandbyReads
from infra.stored_reader import stored_reader_for
from infra.stripe_gateway import StripeGateway, StripeWebhookVerifier
from infra.stripe_records import StripeRecordsReader
from infra.timers import NoTimers, RedisCaptureTimers
from infra.web.client_identity import Identities
from infra.web.observability import Metrics, PrometheusTelemetry
from infra.wiring import wire_services

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Database:
    """The pool on DATABASE_URL (or an embedded PostgreSQL) with our tables made."""

    settings: Settings
    url: str
    pool: Pool
    admin_keys: AdminKeys
    publishable_keys: PublishableKeys
    catalog: CatalogStore  # uncached: a CLI verb reads it once
    embedded: EmbeddedDatabase | None = None

    def close(self) -> None:
        self.pool.close()
        if self.embedded is not None:
            self.embedded.stop()


def open_database(settings: Settings) -> Database:
    """The database and its tables; no event store, no views, no Stripe, no Redis."""
    embedded = None
    url = settings.database_url
    if not url:
        log.info("DATABASE_URL is unset: embedded PostgreSQL in %s", settings.data_dir)
        embedded = start_embedded_postgres(Path(settings.data_dir))
        url = embedded.url
    apply_ssl_environment(url)
    pool = open_pool(url)
    create_tables(pool)
    return Database(
        settings=settings,
        url=url,
        pool=pool,
        admin_keys=AdminKeys(pool),
        publishable_keys=PublishableKeys(pool),
        catalog=PostgresCatalog(pool),
        embedded=embedded,
    )


def open_ledger(
    pool: Pool,
    database_url: str,
    *,
    personal: PersonalData | None = None,
    on_append: Callable[[float], None] | None = None,
) -> Ledger:
    """The event store, its tables made if missing (one process at a time)."""
    with pool.connection() as conn:
        # The library creates its tables and replaces its insert function at every
        # start, unlocked: processes starting together would trip over each other.
        conn.execute("SELECT pg_advisory_lock(hashtext('orderledger-event-store-setup'))")
        try:
            return Ledger(
                env=event_store_env(database_url),
                on_append=on_append,
                stored_reader_for=stored_reader_for,
                mapper=sealing(personal) if personal is not None else None,
            )
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('orderledger-event-store-setup'))")


@dataclass(frozen=True)
class LedgerAndViews:
    """The event store and the views' runtime; ``stale`` views changed shape (not rebuilt)."""

    ledger: Ledger
    projections: ProjectionRuntime
    personal: PersonalData | None
    stale: tuple[str, ...]

    def close(self) -> None:
        self.ledger.close()


def open_ledger_and_views(
    database: Database, *, on_append: Callable[[float], None] | None = None
) -> LedgerAndViews:
    """The event store (sealing personal data when PII_MASTER_KEY is set) and every view's
    tables made if missing; a view whose shape changed is named, not rebuilt."""
    personal = enable_personal_data(database.settings, database.pool)
    ledger = open_ledger(database.pool, database.url, personal=personal, on_append=on_append)
    begin_notifications(database.pool, ledger.head)
    projections = ProjectionRuntime(ledger, database.pool)
    return LedgerAndViews(ledger, projections, personal, tuple(projections.ensure()))


@dataclass(frozen=True)
class WorkerParts:
    """What the background duties run (``infra.worker.Worker`` runs them)."""

    process_manager: ProcessManager
    notifier: Notifier
    sender: Sender
    backorders: BackorderAlerts


@dataclass(frozen=True)
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
    metrics: Metrics
    # The API's: who a caller is, order-token checks, reads (its rate store is per app).
    identities: Identities
    authorize_order: Callable[..., None]
    medusa_catalog: MedusaCatalogReads
    reconciliation_runs: ReconciliationRuns
    worker: WorkerParts
    expected_duties: frozenset[str]
    embedded: "EmbeddedDatabase | None" = None
    files: "Files | None" = None
    customers: "Customers | None" = None
    standbys: "Standbys | None" = None  # READ_DATABASE_URL (infra.read_replicas)
    catalog_listener: CatalogListener | None = None
    erasure_listener: ChannelListener | None = None

    def close(self) -> None:
        if self.catalog_listener is not None:
            self.catalog_listener.stop()
        if self.erasure_listener is not None:
            self.erasure_listener.stop()
        if self.standbys is not None:
            self.standbys.close()
        self.read_models.close()
        self.ledger.close()
        self.pool.close()
        if self.redis is not None:
            self.redis.close()
        if self.embedded is not None:
            self.embedded.stop()


def build_container(settings: Settings, *, clock: Clock = utc_now) -> Container:
    """Everything the service needs, from DATABASE_URL or an embedded PostgreSQL.

    ``clock`` is the application's clock (a test may pass one it can move)."""
    database = open_database(settings)
    metrics = Metrics()
    opened = open_ledger_and_views(database, on_append=metrics.appends.observe)
    for stale in opened.stale:
        log.info("projection %s changed shape: rebuilding it", stale)
        opened.projections.rebuild(stale)
    pool, url, ledger, projections = database.pool, database.url, opened.ledger, opened.projections
    redis_client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None
    locks: Locks = RedisLocks(redis_client) if redis_client else PostgresLocks(pool)
    stripe_key = settings.stripe_api_key.get_secret_value()
    catalog, catalog_listener = cached_catalog(pool, settings.catalog_cache_seconds)
    services = wire_services(
        settings,
        ledger=ledger,
        catalog=catalog,
        payments=StripeGateway(
            stripe_key,
            settings.stripe_api_base,
            request_incremental=settings.stripe_request_incremental_authorization,
        ),
        locks=locks,
        webhooks=PostgresWebhookInbox(pool),
        secrets=PostgresSecrets(pool),
        clock=clock,
        timers=RedisCaptureTimers(redis_client) if redis_client else NoTimers(),
        alerts=LoggingAlerts(),
        telemetry=PrometheusTelemetry(metrics),
        stripe_records=StripeRecordsReader(stripe_key, settings.stripe_api_base),
    )
    standbys = build_standbys(settings, url)
    expected = duties_expected(
        settings, redis=redis_client is not None, stripe_records=services.stripe_records
    )
    reconciliation_runs = ReconciliationRuns(pool)
    watch(metrics, projections, pool, expected, reconciliation_runs, standbys)
    secret = settings.stripe_webhook_secret
    mailer = build_mailer(settings)
    return Container(
        settings=settings,
        database_url=url,
        pool=pool,
        ledger=ledger,
        services=services,
        admin_keys=database.admin_keys,
        publishable_keys=database.publishable_keys,
        webhook_verifier=StripeWebhookVerifier(secret.get_secret_value() if secret else None),
        redis=redis_client,
        projections=projections,
        read_models=PostgresReadModels(
            pool, projections, StandbyReads(standbys) if standbys else None
        ),
        mailer=mailer,
        metrics=metrics,
        identities=client_identities(database.publishable_keys),
        authorize_order=partial(authorize_customer, services),
        medusa_catalog=MedusaCatalogReads(pool),
        reconciliation_runs=reconciliation_runs,
        worker=worker_parts(settings, services, pool, mailer, redis_client),
        expected_duties=expected,
        embedded=database.embedded,
        files=build_files(settings, pool, services.secrets),
        customers=Customers(ledger, pool, opened.personal, clock) if opened.personal else None,
        standbys=standbys,
        catalog_listener=catalog_listener,
        erasure_listener=(
            forget_on_erasure(pool, opened.personal, ledger.cache) if opened.personal else None
        ),
    )


def watch(
    metrics: Metrics,
    projections: ProjectionRuntime,
    pool: Pool,
    expected: frozenset[str],
    runs: ReconciliationRuns,
    standbys: "Standbys | None",
) -> None:
    """The collectors read at each scrape: views' lag, workers, duties, findings, standbys."""
    metrics.watch_projections(projections.status)
    metrics.registry.register(WorkerHeartbeats(lambda: worker_beats(pool)))
    metrics.registry.register(DutyHolders(lambda: duty_holders(pool), expected))
    metrics.registry.register(FindingsGauge(runs))
    if standbys is not None:
        metrics.registry.register(StandbyMetrics(standbys))


def client_identities(publishable_keys: PublishableKeys) -> Identities:
    """A storefront's publishable key earns it the storefront allowance (per key and
    address); other credentials plug in the same way."""
    identities = Identities()
    identities.recognise(StorefrontKeys(publishable_keys).caller)
    return identities


def worker_parts(
    settings: Settings,
    services: Services,
    pool: Pool,
    mailer: Mailer,
    redis_client: "redis.Redis | None",
) -> WorkerParts:
    """The process manager, the notifier and the mail sender (their threads start with a
    worker)."""
    backorders = BackorderAlerts(redis_client)
    deliveries = PostgresDeliveryLog(pool)
    return WorkerParts(
        process_manager=ProcessManager(services, on_backorder=backorders.publish),
        notifier=Notifier(
            services.ledger, deliveries, services.clock, ops_email=settings.ops_email
        ),
        sender=Sender(deliveries, mailer, services.clock),
        backorders=backorders,
    )


def build_standbys(settings: Settings, primary_url: str) -> "Standbys | None":
    """The hot standbys of READ_DATABASE_URL; their monitor starts with the API."""
    urls = standby_urls(settings.read_database_url)
    if not urls:
        return None
    return Standbys(primary_url, urls, max_lag_seconds=settings.read_standby_max_lag_seconds)
