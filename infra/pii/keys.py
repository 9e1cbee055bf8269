"""Where the data keys live: one live key per subject, wrapped by the master key.

``pii_data_keys`` holds each key wrapped (never in clear); destroying a key sets
``wrapped_key`` to NULL, after which nothing sealed under it can be read again.
``pii_subject_aggregates`` records which aggregates hold a subject's data, so an
export or an erasure finds them without reading every event.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from infra.pg import Pool
from infra.pii.crypto import MasterKey, new_data_key

# How long a process trusts a data key it has read. An erasure made by another
# process is fully effective everywhere after this long (README: "Erasure").
KEY_CACHE_SECONDS = 30.0
# NOTIFYed when keys are destroyed: every process forgets what it held of anyone.
ERASURE_CHANNEL = "orderledger_erasure"

TABLES = (
    """CREATE TABLE IF NOT EXISTS orderledger.pii_data_keys (
        key_id text PRIMARY KEY,
        subject_id text NOT NULL,
        wrapped_key bytea,
        created_at timestamptz NOT NULL,
        destroyed_at timestamptz)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS pii_data_keys_live ON orderledger.pii_data_keys (subject_id)
        WHERE wrapped_key IS NOT NULL""",
    """CREATE TABLE IF NOT EXISTS orderledger.pii_subject_aggregates (
        subject_id text NOT NULL,
        aggregate_id uuid NOT NULL,
        PRIMARY KEY (subject_id, aggregate_id))""",
    """CREATE INDEX IF NOT EXISTS pii_subject_aggregates_by_aggregate
        ON orderledger.pii_subject_aggregates (aggregate_id)""",
)


class DataKeys(Protocol):
    """The data keys of subjects, and which aggregates hold each subject's data."""

    def live_key(self, subject_id: str) -> tuple[str, bytes]:
        """The subject's key (id, bytes), made now if it has none."""
        ...

    def key(self, key_id: str) -> bytes | None:
        """A key by id; None once destroyed (or never made)."""
        ...

    def link(self, subject_id: str, aggregate_id: str) -> None: ...

    def aggregates_of(self, subject_ids: Sequence[str]) -> list[str]: ...

    def subjects_of(self, aggregate_id: str) -> list[str]: ...

    def has_live_key(self, subject_id: str) -> bool: ...

    def destroy(self, subject_ids: Sequence[str], now: datetime) -> int:
        """Destroy every key of these subjects; how many were still live."""
        ...


class PostgresDataKeys:
    def __init__(self, pool: Pool, master: MasterKey) -> None:
        self._pool = pool
        self._master = master

    def live_key(self, subject_id: str) -> tuple[str, bytes]:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT key_id, wrapped_key FROM orderledger.pii_data_keys"
                " WHERE subject_id = %s AND wrapped_key IS NOT NULL",
                (subject_id,),
            ).fetchone()
            if row is None:
                key_id = "k_" + uuid.uuid4().hex
                wrapped = self._master.wrap(key_id, new_data_key())
                conn.execute(
                    "INSERT INTO orderledger.pii_data_keys (key_id, subject_id, wrapped_key, created_at)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (key_id, subject_id, wrapped, datetime.now(UTC)),
                )
                row = conn.execute(
                    "SELECT key_id, wrapped_key FROM orderledger.pii_data_keys"
                    " WHERE subject_id = %s AND wrapped_key IS NOT NULL",
                    (subject_id,),
                ).fetchone()
            assert row is not None
            return str(row[0]), self._master.unwrap(str(row[0]), bytes(row[1]))

    def key(self, key_id: str) -> bytes | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT wrapped_key FROM orderledger.pii_data_keys WHERE key_id = %s", (key_id,)
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return self._master.unwrap(key_id, bytes(row[0]))

    def link(self, subject_id: str, aggregate_id: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO orderledger.pii_subject_aggregates (subject_id, aggregate_id) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING",
                (subject_id, aggregate_id),
            )

    def aggregates_of(self, subject_ids: Sequence[str]) -> list[str]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT aggregate_id::text FROM orderledger.pii_subject_aggregates"
                " WHERE subject_id = ANY(%s) ORDER BY 1",
                (list(subject_ids),),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def subjects_of(self, aggregate_id: str) -> list[str]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT subject_id FROM orderledger.pii_subject_aggregates WHERE aggregate_id = %s"
                " ORDER BY 1",
                (aggregate_id,),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def has_live_key(self, subject_id: str) -> bool:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT 1 FROM orderledger.pii_data_keys WHERE subject_id = %s AND wrapped_key IS NOT NULL",
                (subject_id,),
            ).fetchone()
        return row is not None

    def destroy(self, subject_ids: Sequence[str], now: datetime) -> int:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE orderledger.pii_data_keys SET wrapped_key = NULL, destroyed_at = %s"
                " WHERE subject_id = ANY(%s) AND wrapped_key IS NOT NULL",
                (now, list(subject_ids)),
            )
            # Every process drops what it holds in clear (sent at commit; see
            # ``forget_on_erasure``).
            conn.execute(f"NOTIFY {ERASURE_CHANNEL}")
            return cursor.rowcount


class InMemoryDataKeys:
    """The same contract in memory, for fast tests of the mapper and the use cases."""

    def __init__(self) -> None:
        self._keys: dict[str, tuple[str, bytes | None]] = {}
        self._links: set[tuple[str, str]] = set()

    def live_key(self, subject_id: str) -> tuple[str, bytes]:
        for key_id, (subject, key) in self._keys.items():
            if subject == subject_id and key is not None:
                return key_id, key
        key_id = "k_" + uuid.uuid4().hex
        self._keys[key_id] = (subject_id, new_data_key())
        return key_id, self._keys[key_id][1] or b""

    def key(self, key_id: str) -> bytes | None:
        return self._keys.get(key_id, ("", None))[1]

    def link(self, subject_id: str, aggregate_id: str) -> None:
        self._links.add((subject_id, aggregate_id))

    def aggregates_of(self, subject_ids: Sequence[str]) -> list[str]:
        return sorted({a for s, a in self._links if s in subject_ids})

    def subjects_of(self, aggregate_id: str) -> list[str]:
        return sorted({s for s, a in self._links if a == aggregate_id})

    def has_live_key(self, subject_id: str) -> bool:
        return any(s == subject_id and k is not None for s, k in self._keys.values())

    def destroy(self, subject_ids: Sequence[str], now: datetime) -> int:
        destroyed = 0
        for key_id, (subject, key) in list(self._keys.items()):
            if subject in subject_ids and key is not None:
                self._keys[key_id] = (subject, None)
                destroyed += 1
        return destroyed


class CachedDataKeys:
    """Keys and links remembered for ``KEY_CACHE_SECONDS``, so that sealing and
    reading events costs no round trip per event."""

    def __init__(self, keys: DataKeys, seconds: float = KEY_CACHE_SECONDS) -> None:
        self.inner = keys
        self._seconds = seconds
        self._lock = threading.Lock()
        self._live: dict[str, tuple[float, tuple[str, bytes]]] = {}
        self._by_id: dict[str, tuple[float, bytes | None]] = {}
        self._linked: set[tuple[str, str]] = set()

    def live_key(self, subject_id: str) -> tuple[str, bytes]:
        now = time.monotonic()
        with self._lock:
            hit = self._live.get(subject_id)
        if hit is not None and now - hit[0] < self._seconds:
            return hit[1]
        found = self.inner.live_key(subject_id)
        with self._lock:
            self._live[subject_id] = (now, found)
            self._by_id[found[0]] = (now, found[1])
        return found

    def key(self, key_id: str) -> bytes | None:
        now = time.monotonic()
        with self._lock:
            hit = self._by_id.get(key_id)
        if hit is not None and now - hit[0] < self._seconds:
            return hit[1]
        found = self.inner.key(key_id)
        with self._lock:
            self._by_id[key_id] = (now, found)
        return found

    def link(self, subject_id: str, aggregate_id: str) -> None:
        if (subject_id, aggregate_id) in self._linked:
            return
        self.inner.link(subject_id, aggregate_id)
        with self._lock:
            self._linked.add((subject_id, aggregate_id))

    def aggregates_of(self, subject_ids: Sequence[str]) -> list[str]:
        return self.inner.aggregates_of(subject_ids)

    def subjects_of(self, aggregate_id: str) -> list[str]:
        return self.inner.subjects_of(aggregate_id)

    def has_live_key(self, subject_id: str) -> bool:
        return self.inner.has_live_key(subject_id)

    def destroy(self, subject_ids: Sequence[str], now: datetime) -> int:
        destroyed = self.inner.destroy(subject_ids, now)
        self.forget(subject_ids)
        return destroyed

    def forget_all(self) -> None:
        with self._lock:
            self._live.clear()
            self._by_id.clear()

    def forget(self, subject_ids: Iterable[str]) -> None:
        gone = set(subject_ids)
        with self._lock:
            self._live = {s: v for s, v in self._live.items() if s not in gone}
            self._by_id.clear()


def create_key_tables(pool: Pool) -> None:
    with pool.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext('orderledger-pii-setup'))")
        try:
            for statement in TABLES:
                conn.execute(statement)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('orderledger-pii-setup'))")
