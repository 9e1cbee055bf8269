"""One confirmation, one action: a second submit of the same confirmed form does nothing.

A double click on "Yes, do it", a reload of the answer, or a replayed request would
otherwise run a refund twice. Each confirmation page carries a random token; the
action claims it before it runs, and a token is claimed once. Claimed tokens are
kept a day, far longer than a page stays open.
"""

import secrets

from infra.pg import Pool
from infra.schema import SCHEMA


def new_token() -> str:
    return secrets.token_urlsafe(24)


class ConsoleConfirmations:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def claim(self, token: str, key_id: str, action: str) -> bool:
        """True the first time ``token`` is claimed, False ever after."""
        if not 20 <= len(token) <= 64:
            return False
        with self._pool.connection() as conn:
            claimed = conn.execute(
                f"INSERT INTO {SCHEMA}.console_confirmations (token, key_id, action) "
                "VALUES (%s, %s, %s) ON CONFLICT (token) DO NOTHING RETURNING token",
                (token, key_id, action[:200]),
            ).fetchone()
            conn.execute(
                f"DELETE FROM {SCHEMA}.console_confirmations "
                "WHERE claimed_at < now() - interval '1 day'"
            )
        return claimed is not None
