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
        """The key's id if ``presented`` is a live key.

        Looked up by the hash of the whole key, never by its id: the work and the query
        are the same whether the id exists or not, so timing tells nothing about ids.
        """
        if len(presented) > 200:
            return None
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT id FROM {SCHEMA}.admin_keys WHERE key_hash = %s AND revoked_at IS NULL",
                (_hash(presented),),
            ).fetchone()
        if row is None:
            return None
        key_id = str(row[0])
        written_id = presented.partition("_")[2].partition("_")[0]
        return key_id if hmac.compare_digest(written_id.encode(), key_id.encode()) else None
