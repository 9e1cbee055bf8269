"""Publishable API keys: what a storefront sends in ``x-publishable-api-key``.

A key names the sales channels a storefront sells through (which scope its carts,
products and stock). Keys travel in browsers, so they are not secrets the way admin
keys are; still they are stored only as a hash and can be revoked at once, and the
lookup tells a key's identity to whoever needs it: the Medusa surface (which channels a
request may use, public or not) and the rate limits (``StorefrontKeys``).
"""

import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from starlette.types import Scope

from infra.pg import Pool
from infra.schema import SCHEMA
from infra.web.client_identity import Caller, address_key

PREFIX = "pk"


@dataclass(frozen=True)
class PublishableKey:
    id: str
    name: str
    sales_channel_ids: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _hash(key: str) -> str:
    # 256 random bits: a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(key.encode()).hexdigest()


_COLUMNS = "id, name, sales_channel_ids, created_at, revoked_at"


def _key(row: Sequence[Any]) -> PublishableKey:
    key_id, name, channels, created_at, revoked_at = row
    return PublishableKey(str(key_id), str(name), tuple(channels), created_at, revoked_at)


class PublishableKeys:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def create(self, name: str, sales_channel_ids: list[str]) -> tuple[str, str]:
        """Make a key for the channels; returns ``(key_id, key)``. The key is never stored."""
        if not 1 <= len(name) <= 100:
            raise ValueError("A key name has 1 to 100 characters.")
        if not sales_channel_ids:
            raise ValueError("A publishable key needs at least one sales channel.")
        key_id = secrets.token_hex(6)
        key = f"{PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.publishable_keys (id, name, key_hash, sales_channel_ids) "
                "VALUES (%s, %s, %s, %s)",
                (key_id, name, _hash(key), list(dict.fromkeys(sales_channel_ids))),
            )
        return key_id, key

    def list(self) -> list[PublishableKey]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM {SCHEMA}.publishable_keys ORDER BY created_at, id"
            ).fetchall()
        return [_key(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        with self._pool.connection() as conn:
            cur = conn.execute(
                f"UPDATE {SCHEMA}.publishable_keys SET revoked_at = now() "
                "WHERE id = %s AND revoked_at IS NULL",
                (key_id,),
            )
        return cur.rowcount == 1

    def lookup(self, presented: str) -> PublishableKey | None:
        """The key ``presented`` is (revoked ones included: see ``.revoked``), or None when it
        is no key of ours. The hash is compared in constant time."""
        prefix, _, rest = presented.partition("_")
        key_id, _, _secret = rest.partition("_")
        if prefix != PREFIX or not key_id or len(presented) > 200:
            return None
        with self._pool.connection() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS}, key_hash FROM {SCHEMA}.publishable_keys WHERE id = %s",
                (key_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(str(row[-1]), _hash(presented)):
            return None
        return _key(tuple(row[:-1]))


HEADER = b"x-publishable-api-key"


class StorefrontKeys:
    """The rate limits' view of publishable keys: a request carrying a valid key is a
    storefront caller, counted per key *and* address with the storefront allowance.

    A publishable key is public (it travels in every shopper's browser), so it earns a
    larger allowance per address, never one bucket that an abuser copying the key
    could drain for the whole shop, nor an unbounded one for himself. Answers are
    cached for ``ttl`` seconds (the limiter runs before every limited write); a revoked
    key loses the larger allowance within that time, and is refused by the surface
    itself at once.
    """

    def __init__(self, keys: "PublishableKeys", *, ttl: float = 10.0, size: int = 1024) -> None:
        self._keys = keys
        self._ttl = ttl
        self._size = size
        self._seen: dict[str, tuple[float, str | None]] = {}

    async def caller(self, scope: Scope) -> Caller | None:
        presented = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == HEADER), None
        )
        if not presented:
            return None
        key_id = await self._key_id(presented)
        if key_id is None:
            return None
        address = address_key((scope.get("client") or ("unknown", 0))[0])
        return Caller(f"pk:{key_id}:{address}", kind="storefront")

    async def _key_id(self, presented: str) -> str | None:
        now = time.monotonic()
        cached = self._seen.get(presented)
        if cached is not None and cached[0] > now:
            return cached[1]
        found = await anyio.to_thread.run_sync(self._keys.lookup, presented)
        key_id = found.id if found is not None and not found.revoked else None
        if len(self._seen) >= self._size:
            self._seen.clear()  # bounded: a flood of made-up keys cannot grow it
        self._seen[presented] = (now + self._ttl, key_id)
        return key_id
