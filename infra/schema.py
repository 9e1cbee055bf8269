"""Tables outside the event store: catalog, admin keys, webhook inbox, secrets.

Every statement is idempotent, so ``orderledger db init`` can run at every start.
"""

from infra.pg import Pool

SCHEMA = "orderledger"

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
)


def create_tables(pool: Pool) -> None:
    with pool.connection() as conn, conn.transaction():
        # Several processes may start at once; one creates, the others wait.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('orderledger-schema'))")
        for statement in STATEMENTS:
            conn.execute(statement)
