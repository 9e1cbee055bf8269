"""Reading several aggregates' stored events from PostgreSQL in one statement.

The library reads one aggregate at a time: a query for its latest snapshot, then
one for its events, each on a pooled connection. A command that loads an order,
its payment collection and its stock levels made a dozen round trips; this makes
one. Snapshots and events come from the same statement, so from one snapshot of
the database.
"""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresDatastore
from psycopg.sql import SQL, Composed, Identifier

from commands.ledger import Ledger
from infra.deadline import bound_by_request_deadline
from infra.pg import CheckUnlessRecent


class PostgresStoredReader:
    def __init__(
        self,
        datastore: PostgresDatastore,
        events_table: str,
        snapshots_table: str | None,
    ) -> None:
        self._datastore = datastore
        self._statement = _statement(datastore.schema, events_table, snapshots_table)

    def read(self, aggregate_ids: Sequence[UUID]) -> list[StoredEvent]:
        if not aggregate_ids:
            return []
        # The library's connections are in autocommit: one statement, one snapshot of
        # the database, no transaction to open or close.
        with self._datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._statement, {"ids": list(aggregate_ids)}, prepare=True)
            rows = curs.fetchall()
        return [
            StoredEvent(
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in rows
        ]


def _statement(schema: str, events_table: str, snapshots_table: str | None) -> Composed:
    """Per aggregate (a lateral join, so each range is an index scan of its own): the
    latest snapshot, then the events after it."""
    events = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
    if snapshots_table is None:
        return SQL(
            "SELECT originator_id, originator_version, topic, state FROM {events} "
            "WHERE originator_id = ANY(%(ids)s::uuid[]) "
            "ORDER BY originator_id, originator_version"
        ).format(events=events)
    snapshots = SQL("{}.{}").format(Identifier(schema), Identifier(snapshots_table))
    return SQL(
        "SELECT s.originator_id, s.originator_version, s.topic, s.state, 0 AS part "
        "FROM unnest(%(ids)s::uuid[]) AS wanted(id) CROSS JOIN LATERAL ("
        " SELECT originator_id, originator_version, topic, state FROM {snapshots}"
        " WHERE originator_id = wanted.id ORDER BY originator_version DESC LIMIT 1) s "
        "UNION ALL "
        "SELECT e.originator_id, e.originator_version, e.topic, e.state, 1 "
        "FROM unnest(%(ids)s::uuid[]) AS wanted(id) CROSS JOIN LATERAL ("
        " SELECT originator_id, originator_version, topic, state FROM {events}"
        " WHERE originator_id = wanted.id AND originator_version > coalesce("
        "  (SELECT max(originator_version) FROM {snapshots} WHERE originator_id = wanted.id),"
        "  0)) e "
        "ORDER BY originator_id, part, originator_version"
    ).format(events=events, snapshots=snapshots)


def stored_reader_for(ledger: Ledger) -> PostgresStoredReader | None:
    """The ledger's one-statement reader, when its store is PostgreSQL (pass it as
    ``Ledger(stored_reader_for=stored_reader_for)``)."""
    recorder = ledger.recorder
    if not isinstance(recorder, PostgresAggregateRecorder):
        return None
    snapshots = ledger.snapshots.recorder if ledger.snapshots is not None else None
    pool_as_ours(recorder.datastore)
    if isinstance(snapshots, PostgresAggregateRecorder):
        pool_as_ours(snapshots.datastore)
    return PostgresStoredReader(
        recorder.datastore,
        recorder.events_table_name,
        snapshots.events_table_name if isinstance(snapshots, PostgresAggregateRecorder) else None,
    )


def pool_as_ours(datastore: PostgresDatastore) -> None:
    """The library's pool waits and pings as our own pools do (``infra.pg.open_pool``).

    It pinged every connection it handed out (POSTGRES_PRE_PING): a round trip before
    each read and each save, a tenth of checkout's time; now only a connection that has
    not answered in the last second is pinged. And a wait for a connection within an HTTP
    request ends at the request's deadline (``infra.deadline``)."""
    pool: Any = datastore.pool
    if getattr(pool, "_check", None) is not None:
        pool._check = CheckUnlessRecent()
    bound_by_request_deadline(pool)
