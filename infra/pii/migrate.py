"""Sealing what was stored in clear before personal-data encryption was turned on.

Events (and snapshots) written before PII_MASTER_KEY was set hold personal fields in
clear: they load as they are, but no key erases them. This rewrite step seals them in
place, as if they had been written sealed: the same event, the same topic, version and
notification id, only its personal fields replaced by sealed values (and its
aggregates linked to their customer, so export and erasure find them). It is the one
place the ledger rewrites a stored event, and it is idempotent: sealed fields are left
alone, so running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg import sql

from infra.pg import Pool
from infra.pii.fields import EVENT_FIELDS, SNAPSHOT_FIELDS
from infra.pii.mapper import PersonalDataMapper, is_sealed

PAGE = 500
SNAPSHOT_TOPIC = "eventsourcing.domain:Snapshot"


@dataclass
class Sealed:
    events: int = 0
    snapshots: int = 0


def seal_existing(pool: Pool, mapper: PersonalDataMapper, application_name: str) -> Sealed:
    """Seal every stored event and snapshot that still holds a personal field in clear."""
    done = Sealed()
    topics = [*EVENT_FIELDS, SNAPSHOT_TOPIC]
    for table, attr in (("events", "events"), ("snapshots", "snapshots")):
        name = sql.Identifier(f"{application_name.lower()}_{table}")
        for stored in _rows(pool, name, topics):
            if not _holds_clear(mapper, stored):
                continue
            resealed = mapper.to_stored_event(mapper.to_domain_event(stored))
            with pool.connection() as conn:
                conn.execute(
                    sql.SQL(
                        "UPDATE public.{} SET state = %s"
                        " WHERE originator_id = %s AND originator_version = %s"
                    ).format(name),
                    (resealed.state, stored.originator_id, stored.originator_version),
                )
            setattr(done, attr, getattr(done, attr) + 1)
    return done


def _rows(pool: Pool, table: sql.Identifier, topics: list[str]) -> Iterator[StoredEvent]:
    after: tuple[Any, int] = (UUID(int=0), -1)
    while True:
        with pool.connection() as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT originator_id, originator_version, topic, state FROM public.{}"
                    " WHERE topic = ANY(%s) AND (originator_id, originator_version) > (%s, %s)"
                    " ORDER BY originator_id, originator_version LIMIT %s"
                ).format(table),
                (topics, after[0], after[1], PAGE),
            ).fetchall()
        if not rows:
            return
        for row in rows:
            yield StoredEvent(
                originator_id=row[0], originator_version=row[1], topic=row[2], state=bytes(row[3])
            )
        after = (rows[-1][0], rows[-1][1])


def _holds_clear(mapper: PersonalDataMapper, stored: StoredEvent) -> bool:
    state = stored.state
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    decoded: dict[str, Any] = mapper.transcoder.decode(state)
    if stored.topic == SNAPSHOT_TOPIC:
        fields = SNAPSHOT_FIELDS.get(str(decoded.get("topic")), ())
        decoded = decoded.get("state") or {}
    else:
        fields = EVENT_FIELDS.get(stored.topic, ())
    return any(
        decoded.get(n) not in (None, "", {}) and not is_sealed(decoded.get(n)) for n in fields
    )
