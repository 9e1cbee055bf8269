"""Admin API keys: shown once when made, stored only as a hash, revocable at once."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from infra.pg import Pool
from infra.schema import SCHEMA

PREFIX = "olk"


@dataclass(frozen=True)
class AdminKey:
    id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


def _hash(key: str) -> str:
    # Keys are 256 random bits, so a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(key.encode()).hexdigest()


class AdminKeys:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def create(self, name: str) -> tuple[str, str]:
        """Make a key; returns ``(key_id, key)``. The key itself is never stored."""
        if not 1 <= len(name) <= 100:
            raise ValueError("A key name has 1 to 100 characters.")
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.admin_keys (id, name, key_hash) VALUES (%s, %s, %s)",
                (key_id, name, _hash(key)),
            )
        return key_id, key

    def list(self) -> list[AdminKey]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT id, name, created_at, revoked_at FROM {SCHEMA}.admin_keys ORDER BY created_at"
            ).fetchall()
        return [AdminKey(*row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        with self._pool.connection() as conn:
            cur = conn.execute(
                f"UPDATE {SCHEMA}.admin_keys SET revoked_at = now() "
                "WHERE id = %s AND revoked_at IS NULL",
                (key_id,),
            )
        return cur.rowcount == 1

    def verify(self, presented: str) -> str | None:
        """The key's id if ``presented`` is a live key (constant-time comparison)."""
        prefix, _, rest = presented.partition("_")
        key_id, _, _secret = rest.partition("_")
        if prefix != PREFIX or not key_id or len(presented) > 200:
            return None
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT key_hash FROM {SCHEMA}.admin_keys WHERE id = %s AND revoked_at IS NULL",
                (key_id,),
            ).fetchone()
        if row is None:
            return None
        return key_id if hmac.compare_digest(str(row[0]), _hash(presented)) else None
