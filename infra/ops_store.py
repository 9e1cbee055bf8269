"""Small Postgres-backed stores: the webhook inbox and the ledger's secrets."""

import secrets
from datetime import datetime

from infra.pg import Pool
from infra.schema import SCHEMA


class PostgresWebhookInbox:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def seen(self, event_id: str) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT 1 FROM {SCHEMA}.webhook_events WHERE event_id = %s", (event_id,)
            ).fetchone()
        return row is not None

    def remember(self, event_id: str, event_type: str, received_at: datetime) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.webhook_events VALUES (%s, %s, %s) "
                "ON CONFLICT (event_id) DO NOTHING",
                (event_id, event_type, received_at),
            )


class PostgresSecrets:
    """Random keys made once per database and kept there (never leave the server)."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool
        self._cache: dict[str, bytes] = {}

    def order_token_key(self) -> bytes:
        return self._key("order-token")

    def _key(self, name: str) -> bytes:
        if name not in self._cache:
            with self._pool.connection() as conn:
                conn.execute(
                    f"INSERT INTO {SCHEMA}.secrets VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                    (name, secrets.token_bytes(32)),
                )
                row = conn.execute(
                    f"SELECT value FROM {SCHEMA}.secrets WHERE name = %s", (name,)
                ).fetchone()
            assert row is not None
            self._cache[name] = bytes(row[0])
        return self._cache[name]
