"""Console sign-ins: a random token in an HttpOnly cookie, its hash and a CSRF secret here.

The admin key is checked once, at sign-in, and never stored or sent again; every request
looks its session up joined with the key, so a revoked key ends its sessions at once.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from infra.pg import Pool
from infra.schema import SCHEMA

SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class ConsoleSession:
    key_id: str
    key_name: str
    csrf: str

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(self.csrf, presented)


def _hash(token: str) -> str:
    # Tokens are 256 random bits: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleSessions:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def start(self, key_id: str) -> str:
        """A new session for a verified key; returns the cookie's token (shown only here)."""
        token = secrets.token_urlsafe(32)
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.console_sessions (token_hash, key_id, csrf, expires_at) "
                "VALUES (%s, %s, %s, now() + %s)",
                (_hash(token), key_id, secrets.token_urlsafe(32), SESSION_LIFETIME),
            )
            # Sessions past their time are of no use to anyone: sweep them as we go.
            conn.execute(f"DELETE FROM {SCHEMA}.console_sessions WHERE expires_at < now()")
        return token

    def find(self, token: str | None) -> ConsoleSession | None:
        """The live session of ``token``: unexpired, and its key not revoked."""
        if not token or len(token) > 100:
            return None
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT s.key_id, k.name, s.csrf FROM {SCHEMA}.console_sessions s "
                f"JOIN {SCHEMA}.admin_keys k ON k.id = s.key_id AND k.revoked_at IS NULL "
                "WHERE s.token_hash = %s AND s.expires_at > now()",
                (_hash(token),),
            ).fetchone()
        return ConsoleSession(str(row[0]), str(row[1]), str(row[2])) if row else None

    def end(self, token: str | None) -> None:
        if token:
            with self._pool.connection() as conn:
                conn.execute(
                    f"DELETE FROM {SCHEMA}.console_sessions WHERE token_hash = %s", (_hash(token),)
                )
