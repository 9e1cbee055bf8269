"""Runs the projectors over the notification log: catch-up, live, rebuild.

Every batch of view changes commits together with the projection's tracking
position, under a per-projection advisory lock, so a view is exactly-once even
with several workers. Live updates wake on LISTEN/NOTIFY and also poll, so a
lost notification delays a view by one poll interval, never forever.
"""

import logging
import threading
import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing.utils import get_topic
from psycopg_pool import PoolTimeout

from commands.ledger import Ledger
from infra.pg import Pool
from infra.projection_batches import Advanced, LogReader, Reader, share_out
from infra.projection_registry import (
    VIEWS_CHANNEL,
    ProjectionStatus,
    ensure_views,
    generation_of,
    statuses,
)
from infra.view_store import (
    VIEWS,
    PostgresViewStore,
    create_indexes,
    create_tables,
    drop_tables,
    point_views,
    spec_hash,
)
from projections.base import Projector
from projections.catalogue import all_projectors
from queries.streaming import fewer_collections

log = logging.getLogger(__name__)

DATABASE_GONE = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    persistence.OperationalError,
    persistence.InterfaceError,
    PoolTimeout,
    OSError,
)

PAGE_SIZE = 2_000
# A rebuild covers this many positions of the log per transaction (its memory is
# bounded by one batch, never by the length of the log).
REBUILD_BATCH = 10_000
POLL_SECONDS = 1.0

Progress = Callable[[int, int], None]  # (position reached, head)


def _lock_key(name: str) -> str:
    return f"projection:{name}"


class ProjectionRuntime:
    def __init__(
        self,
        ledger: Ledger,
        pool: Pool,
        projectors: Sequence[Projector] | None = None,
        *,
        page_size: int = PAGE_SIZE,
        rebuild_batch: int | None = None,
    ) -> None:
        self.ledger = ledger
        self.pool = pool
        self.projectors = {p.name: p for p in (projectors or all_projectors())}
        self.page_size = page_size
        # A runtime told to use small pages (tests) rebuilds in small batches too.
        self.rebuild_batch = rebuild_batch or (
            REBUILD_BATCH if page_size == PAGE_SIZE else page_size
        )
        self._topics = {
            name: frozenset(get_topic(cls) for cls in p.topics)
            for name, p in self.projectors.items()
        }
        self._log = LogReader(ledger, page_size=page_size, range_size=self.rebuild_batch)

    # --- setup and status ------------------------------------------------------------

    def ensure(self) -> list[str]:
        """Create what is missing; returns the projections whose shape changed (rebuild them)."""
        return ensure_views(self.pool, list(self.projectors.values()))

    def generation(self, conn: psycopg.Connection[Any], name: str) -> int:
        return generation_of(conn, name)

    def status(self) -> list[ProjectionStatus]:
        return statuses(self.pool, self.ledger.head)

    # --- processing ---------------------------------------------------------------------

    def advance(self, name: str, *, generation: int | None = None) -> int:
        """Process one page of the log for one projection; returns notifications consumed."""
        projector = self.projectors[name]
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_lock_key(name),))
            gen = generation if generation is not None else self.generation(conn, name)
            return self._advance_many_in(conn, [(projector, gen)], self._log.page).consumed

    def advance_all(self) -> Advanced:
        """Process one page of the log for every projection at once, in one transaction:
        the page is read and each event decoded once, however many views take it (the
        live path; one projection after another would read the log eight times)."""
        names = sorted(self.projectors)  # the lock order rebuilds use too: no deadlocks
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(key)) "
                "FROM unnest(%s::text[]) WITH ORDINALITY AS locks(key, n) ORDER BY n",
                ([_lock_key(name) for name in names],),
            )
            generations: dict[str, int] = dict(
                conn.execute(
                    f"SELECT projection, generation FROM {VIEWS}.registry "
                    "WHERE projection = ANY(%s)",
                    (names,),
                ).fetchall()
            )
            missing = set(names) - set(generations)
            if missing:
                raise LookupError(f"unknown projections {sorted(missing)!r}")
            targets = [(self.projectors[name], int(generations[name])) for name in names]
            return self._advance_many_in(conn, targets, self._log.page)

    def _advance_many_in(
        self,
        conn: psycopg.Connection[Any],
        targets: Sequence[tuple[Projector, int]],
        read: Reader,
    ) -> Advanced:
        """Process the next batch of the log for each (projector, generation), in the
        caller's transaction: the log is read and each wanted event decoded once, however
        many projectors take it."""
        positions = self._positions(conn, targets)
        start = min(positions)
        batch = read(start, frozenset().union(*(self._topics[p.name] for p, _ in targets)))
        if not batch.count:
            return Advanced(0, start, 0, False)
        last = batch.last
        consumed = 0
        for (projector, generation), position, events in zip(
            targets,
            positions,
            share_out(batch, [self._topics[p.name] for p, _ in targets], positions),
            strict=True,
        ):
            if position >= last:
                continue
            consumed += len(batch.ids) - bisect_right(batch.ids, position)
            if events:
                projector.project(events, PostgresViewStore(conn, projector, generation))
        moved = conn.execute(
            f"UPDATE {VIEWS}.tracking t SET position = %s, updated_at = now() "
            "FROM unnest(%s::text[], %s::integer[]) AS moved(projection, generation) "
            "WHERE t.projection = moved.projection AND t.generation = moved.generation "
            "AND t.position < %s",
            (
                last,
                [p.name for p, _ in targets],
                [generation for _, generation in targets],
                last,
            ),
        )
        if moved.rowcount:  # wakes reads waiting for their views (sent at commit)
            conn.execute(f"NOTIFY {VIEWS_CHANNEL}")
        full = bool(batch.ids) and len(batch.ids) >= self.page_size
        return Advanced(batch.count, last, consumed, full)

    @staticmethod
    def _positions(
        conn: psycopg.Connection[Any], targets: Sequence[tuple[Projector, int]]
    ) -> list[int]:
        """Each target's tracking position (0 when it has none yet), in one round trip."""
        rows = conn.execute(
            f"SELECT projection, generation, position FROM {VIEWS}.tracking "
            "WHERE projection = ANY(%s)",
            ([p.name for p, _ in targets],),
        ).fetchall()
        found = {(name, int(generation)): int(position) for name, generation, position in rows}
        return [found.get((p.name, generation), 0) for p, generation in targets]

    def catch_up(self, name: str | None = None) -> int:
        """Run until the named (or every) projection has reached the head of the log;
        returns the notifications consumed, summed over the projections."""
        total = 0
        if name is not None:
            while consumed := self.advance(name):
                total += consumed
            return total
        while True:
            advanced = self.advance_all()
            total += advanced.consumed
            if not advanced.full:  # a short page: the head of the log as it was read
                return total

    # --- live ----------------------------------------------------------------------------

    def run(
        self,
        stop: threading.Event,
        *,
        poll_seconds: float = POLL_SECONDS,
        channel: str | None = None,
    ) -> None:
        """Follow the log until ``stop`` is set: wake on NOTIFY, poll as a fallback."""
        channel = channel or self.ledger.recorder.channel_name  # type: ignore[attr-defined]
        listener: psycopg.Connection[Any] | None = None
        while not stop.is_set():
            try:
                if listener is None or listener.closed:
                    listener = self._listen(channel)
                self.catch_up()
                self._wait_for_news(listener, stop, poll_seconds)
            except DATABASE_GONE as error:
                log.warning("projection runtime lost the database (%s); retrying", error)
                if listener is not None:
                    listener.close()
                listener = None
                stop.wait(min(poll_seconds, 1.0))
            except Exception:
                log.exception("projection batch failed; retrying")
                stop.wait(min(poll_seconds, 1.0))
        if listener is not None:
            listener.close()

    @staticmethod
    def _wait_for_news(
        listener: psycopg.Connection[Any], stop: threading.Event, poll_seconds: float
    ) -> None:
        """Until a NOTIFY, the poll interval, or ``stop`` (checked every quarter second)."""
        deadline = time.monotonic() + poll_seconds
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            for _ in listener.notifies(timeout=min(left, 0.25), stop_after=1):
                return

    def _listen(self, channel: str) -> psycopg.Connection[Any]:
        conninfo = self.pool.conninfo
        conn = psycopg.connect(str(conninfo), autocommit=True)
        conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
        return conn

    # --- rebuild --------------------------------------------------------------------------

    def rebuild(self, name: str, progress: Progress | None = None) -> int:
        """Build the projection afresh beside the live one, then switch readers atomically."""
        return self.rebuild_many([name], progress)[name]

    def rebuild_many(
        self, names: Sequence[str], progress: Progress | None = None
    ) -> dict[str, int]:
        """Rebuild several projections in one pass over the log (each read and decoded
        once), then switch readers to all of them atomically; returns the new generations.

        Batches are large (``rebuild_batch`` positions of the log per transaction, of
        which only the notifications these projectors read are fetched); each still
        commits its rows with every projection's tracking position, under the same
        per-projection locks as live batches.
        """
        names = list(dict.fromkeys(names))
        projectors = [self.projectors[name] for name in names]
        locks = sorted(_lock_key(name) for name in names)  # one order: no deadlocks
        new = {projector.name: self._new_generation(projector) for projector in projectors}
        targets = [(projector, new[projector.name]) for projector in projectors]
        head = self.ledger.head
        with fewer_collections():
            while True:
                with self.pool.connection() as conn, conn.transaction():
                    for key in locks:
                        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
                    advanced = self._advance_many_in(conn, targets, self._log.range)
                if not advanced.count:
                    break
                if progress is not None:
                    progress(advanced.last, max(head, self.ledger.head))
        with self.pool.connection() as conn, conn.transaction():
            for projector in projectors:
                create_indexes(conn, projector, new[projector.name])
        old = {}
        with self.pool.connection() as conn, conn.transaction():
            # Blocks the live runner's batches for these projections while we switch.
            for key in locks:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (key,))
            while self._advance_many_in(conn, targets, self._log.range).count:
                pass
            for projector in projectors:
                name = projector.name
                old[name] = self.generation(conn, name)
                point_views(conn, projector, new[name])
                conn.execute(
                    f"UPDATE {VIEWS}.registry SET generation = %s, spec = %s, "
                    "switched_at = now() WHERE projection = %s",
                    (new[name], spec_hash(projector), name),
                )
        with self.pool.connection() as conn, conn.transaction():
            for projector in projectors:
                drop_tables(conn, projector, old[projector.name])
                conn.execute(
                    f"DELETE FROM {VIEWS}.tracking WHERE projection = %s AND generation = %s",
                    (projector.name, old[projector.name]),
                )
        if progress is not None:
            first = projectors[0].name
            progress(self._position(first, new[first]), self.ledger.head)
        return new

    def _new_generation(self, projector: Projector) -> int:
        """Empty tables for the projection's next generation, tracked from position 0."""
        name = projector.name
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", (_lock_key(name) + ":rebuild",)
            )
            current = self.generation(conn, name)
            row = conn.execute(
                f"SELECT coalesce(max(generation), 0) FROM {VIEWS}.tracking WHERE projection = %s",
                (name,),
            ).fetchone()
            new = max(current, int(row[0]) if row else 0) + 1
            create_tables(conn, projector, new, indexes=False)  # made once loaded
            conn.execute(
                f"INSERT INTO {VIEWS}.tracking (projection, generation) VALUES (%s, %s) "
                "ON CONFLICT (projection, generation) DO UPDATE SET position = 0",
                (name, new),
            )
        return new

    def _position(self, name: str, generation: int) -> int:
        with self.pool.connection() as conn:
            row = conn.execute(
                f"SELECT position FROM {VIEWS}.tracking WHERE projection = %s AND generation = %s",
                (name, generation),
            ).fetchone()
        return int(row[0]) if row else 0
