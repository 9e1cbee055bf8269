"""Named locks across processes: Redis when configured, else Postgres advisory locks."""

import contextlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from commands.errors import PaymentProviderUnavailable
from infra.pg import Pool

WAIT_SECONDS = 30
TTL_SECONDS = 120


class LockTimeout(PaymentProviderUnavailable):
    """Another process held the lock for longer than we wait."""


class RedisLocks:
    def __init__(self, client: "redis.Redis") -> None:
        self._client = client

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        lock = self._client.lock(
            f"lock:{name}", timeout=TTL_SECONDS, blocking_timeout=WAIT_SECONDS, thread_local=False
        )
        # Our own random token: the library's default, uuid1, takes a process-wide lock
        # and the clock on every checkout (a fifth of the lock's client time, measured).
        if not lock.acquire(blocking=True, token=secrets.token_hex(16)):
            raise LockTimeout(f"Timed out waiting for {name}.")
        try:
            yield
        finally:
            # A lock that expired while held: the TTL bounded a stuck holder.
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()


class PostgresLocks:
    """A session advisory lock on a dedicated pooled connection."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    @contextmanager
    def hold(self, name: str) -> Iterator[None]:
        with self._pool.connection() as conn:
            conn.execute(f"SET lock_timeout = '{WAIT_SECONDS}s'")
            try:
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (name,))
            except Exception as error:
                raise LockTimeout(f"Timed out waiting for {name}.") from error
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))
                conn.execute("RESET lock_timeout")
