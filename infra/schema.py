"""Tables outside the event store: catalog, admin keys, webhook inbox, secrets, console.

Every statement is idempotent, so ``orderledger db init`` can run at every start.
"""

from infra.catalog_notify import catalog_triggers
from infra.pg import Pool

SCHEMA = "orderledger"
# Reconcile runs and console tasks are kept this long, the latest of each always.
HISTORY_KEPT_DAYS = 90

STATEMENTS: tuple[str, ...] = (
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.regions (
        id text PRIMARY KEY,
        currency text NOT NULL,
        tax_rate_bp integer NOT NULL CHECK (tax_rate_bp BETWEEN 0 AND 10000),
        tax_shipping boolean NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.stock_locations (
        id text PRIMARY KEY,
        name text NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.sales_channels (
        id text PRIMARY KEY,
        stock_location_ids text[] NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.shipping_options (
        id text PRIMARY KEY,
        region_id text NOT NULL,
        name text NOT NULL,
        amount bigint NOT NULL CHECK (amount >= 0),
        stock_location_id text)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.products (
        id text PRIMARY KEY,
        title text NOT NULL,
        tax_rate_bp integer CHECK (tax_rate_bp BETWEEN 0 AND 10000))""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.variants (
        id text PRIMARY KEY,
        product_id text NOT NULL REFERENCES {SCHEMA}.products (id),
        sku text NOT NULL,
        title text NOT NULL,
        prices jsonb NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS variants_product ON {SCHEMA}.variants (product_id)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.admin_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        key_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz)""",
    # Storefront keys (Medusa's publishable API keys): public, but revocable and scoped.
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.publishable_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        key_hash text NOT NULL,
        sales_channel_ids text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz)""",
    # Keys are verified by their hash (the same lookup whether an id exists or not).
    f"CREATE INDEX IF NOT EXISTS admin_keys_by_hash ON {SCHEMA}.admin_keys (key_hash)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.webhook_events (
        event_id text PRIMARY KEY,
        event_type text NOT NULL,
        received_at timestamptz NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        status text NOT NULL,
        response_status integer,
        response_headers jsonb,
        response_body bytea,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, key))""",
    # Answers are purged 24 h after they were made (see infra/web/idempotency.py).
    f"CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON {SCHEMA}.idempotency_keys (created_at)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.heartbeats (
        name text PRIMARY KEY,
        beat_at timestamptz NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.secrets (
        name text PRIMARY KEY,
        value bytea NOT NULL)""",
    # The e-mail delivery log: one row per (event, kind of e-mail), decided once.
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.notifications (
        id text PRIMARY KEY,
        notification_id bigint NOT NULL,
        kind text NOT NULL,
        recipient text NOT NULL,
        subject text NOT NULL,
        text_body text NOT NULL,
        html_body text NOT NULL,
        idempotency_key text NOT NULL,
        order_id uuid,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        message_id text,
        next_attempt_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        sent_at timestamptz)""",
    f"""CREATE INDEX IF NOT EXISTS notifications_due ON {SCHEMA}.notifications
        (next_attempt_at) WHERE status = 'pending'""",
    f"""CREATE INDEX IF NOT EXISTS notifications_by_status ON {SCHEMA}.notifications
        (status, created_at DESC)""",
    # How far each notifier has decided (kept apart from the event store's tracking so
    # that it commits in the same transaction as the e-mails it decided).
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.notifier_positions (
        follower text PRIMARY KEY,
        position bigint NOT NULL)""",
    # The console's sign-ins (infra/console): a hash of the cookie's token, never the key.
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.console_sessions (
        token_hash text PRIMARY KEY,
        key_id text NOT NULL,
        csrf text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL)""",
    # Confirmations the console's actions have used, each once (infra/console/confirmations).
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.console_confirmations (
        token text PRIMARY KEY,
        key_id text NOT NULL,
        action text NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now())""",
    # The console's long tasks (rebuild, audit verify): progress and the last result.
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.console_jobs (
        id text PRIMARY KEY,
        kind text NOT NULL,
        target text NOT NULL,
        status text NOT NULL DEFAULT 'running',
        position bigint NOT NULL DEFAULT 0,
        head bigint NOT NULL DEFAULT 0,
        result jsonb,
        started_by text NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz)""",
    f"""CREATE INDEX IF NOT EXISTS console_jobs_latest ON {SCHEMA}.console_jobs
        (kind, started_at DESC)""",
    # Issue 18: where a region ships, which channels a storefront may name, which goods
    # need no shipping. Added columns with defaults, so catalogs stored before read as
    # they did (any country, public, shipped).
    f"ALTER TABLE {SCHEMA}.regions ADD COLUMN IF NOT EXISTS countries text[]",
    f"ALTER TABLE {SCHEMA}.sales_channels ADD COLUMN IF NOT EXISTS public boolean NOT NULL "
    "DEFAULT true",
    f"ALTER TABLE {SCHEMA}.products ADD COLUMN IF NOT EXISTS requires_shipping boolean "
    "NOT NULL DEFAULT true",
    # Every reconcile run with Stripe: its summary and findings (GET /admin/reconciliation).
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.reconciliation_runs (
        id bigserial PRIMARY KEY,
        started_at timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        since timestamptz NOT NULL,
        ok boolean NOT NULL,
        report jsonb NOT NULL)""",
    # Issue 25: every committed change to a catalog table NOTIFYs the API processes'
    # catalog caches (infra/catalog_cache.py).
    *catalog_triggers(SCHEMA),
)


def create_tables(pool: Pool) -> None:
    with pool.connection() as conn, conn.transaction():
        # Several processes may start at once; one creates, the others wait.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('orderledger-schema'))")
        for statement in STATEMENTS:
            conn.execute(statement)
