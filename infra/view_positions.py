"""Where the views are in the log, for reads that wait on them (``queries.ports.ViewPositions``).

Waiting never holds a request thread or a database connection: a waiter is a coroutine
parked on one ``asyncio.Condition``. One task per process LISTENs on ``VIEWS_CHANNEL``,
which the projection runtime NOTIFYs when a batch commits; on each NOTIFY, while anyone
waits, it reads every view's position once (one query however many wait) and wakes the
waiters, who compare in memory. A lost NOTIFY or a dropped listener delays a waiter by
``FALLBACK_POLL`` at most. Waiters are bounded: past ``max_waiters`` a read is refused
at once (``TooManyWaiting``, 503), so a flood of reads that wait cannot starve the
process; a position past the log's head is refused as well (400), since nothing would
ever satisfy it.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, sql

from infra.projection_registry import VIEWS_CHANNEL, VIEWS_POSITION
from infra.storefront_reads import AsyncStorefrontReads
from infra.view_store import VIEWS
from queries.errors import PositionBeyondHead, TooManyWaiting

log = logging.getLogger(__name__)

# Reads waiting for their views at once, per process, before more are refused.
MAX_WAITERS = 200
# How long a read waits for its views (the views follow the log within milliseconds
# while a worker runs: bench-lag); then min_position answers X-View-Caught-Up: false
# and a read by id 503.
WAIT_SECONDS = 2.0
# Without a NOTIFY, how often the positions are read again while anyone waits.
FALLBACK_POLL = 0.25

EVERY_POSITION = (
    f"SELECT r.projection, t.position FROM {VIEWS}.registry r JOIN {VIEWS}.tracking t "
    "ON t.projection = r.projection AND t.generation = r.generation"
)


class PostgresViewPositions:
    def __init__(
        self,
        reads: AsyncStorefrontReads,
        listen_conninfo: str,
        *,
        events_table: tuple[str, str],
        max_waiters: int = MAX_WAITERS,
        wait_seconds: float = WAIT_SECONDS,
        fallback_poll: float = FALLBACK_POLL,
    ) -> None:
        self._reads = reads
        self._conninfo = listen_conninfo
        self.max_waiters = max_waiters
        self.wait_seconds = wait_seconds  # how long a read waits unless told otherwise
        self._fallback_poll = fallback_poll
        self._positions: dict[str, int] = {}
        self._changed = asyncio.Condition()
        self.waiting = 0
        self._notified = 0  # NOTIFYs received so far (one may come while nobody waits)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()  # set while the listener is LISTENing
        schema, table = events_table
        events = sql.Identifier(schema, table)
        # Per id, its latest event through the primary key (originator_id, version): one
        # backward index probe each, however long the aggregate's history; scalar
        # parameters (an array and unnest doubled the cost of the probe: bench.read_miss).
        self._latest = (
            sql.SQL(
                "(SELECT notification_id FROM {events} WHERE originator_id = %s "
                "ORDER BY originator_version DESC LIMIT 1)"
            )
            .format(events=events)
            .as_string()
        )
        self._head: str = (
            sql.SQL("SELECT coalesce(max(notification_id), 0) AS head FROM {events}")
            .format(events=events)
            .as_string()
        )

    def start(self) -> None:
        """Begin listening (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def last_of(self, count: int) -> str:
        """The statement for the latest position of ``count`` aggregates."""
        return f"SELECT greatest({', '.join([self._latest] * count)}) AS position"

    async def last_position_of(self, aggregate_ids: Sequence[UUID]) -> int | None:
        if not aggregate_ids:
            return None
        # The event store is the primary's: a standby may not have the event yet.
        rows = await self._reads.primary_rows(self.last_of(len(aggregate_ids)), list(aggregate_ids))
        position = rows[0]["position"] if rows else None
        return int(position) if position is not None else None

    async def wait_for(
        self, position: int, views: Sequence[str], timeout: float | None = None
    ) -> bool:
        notified = self._notified
        rows = await self._reads.rows(VIEWS_POSITION, (list(views),))
        if rows and int(rows[0]["position"]) >= position:
            return True
        head = await self._reads.primary_rows(self._head, ())
        if position > int(head[0]["head"]):
            raise PositionBeyondHead(
                f"The log has no notification {position} yet: min_position must be a "
                "position a command answered with (X-Ledger-Position)."
            )
        if self.waiting >= self.max_waiters:
            raise TooManyWaiting("Too many reads are waiting for their views; ask again shortly.")
        self.waiting += 1
        try:
            if self._notified != notified or not self._positions:
                await self._refresh()  # a NOTIFY since our look may have gone unread
            wait = self.wait_seconds if timeout is None else timeout
            return await self._parked(position, list(views), time.monotonic() + wait)
        finally:
            self.waiting -= 1

    async def _parked(self, position: int, views: list[str], deadline: float) -> bool:
        async with self._changed:
            while not self._reached(position, views):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except TimeoutError:
                    return self._reached(position, views)
            return True

    def _reached(self, position: int, views: list[str]) -> bool:
        known = [self._positions[name] for name in views if name in self._positions]
        return bool(known) and min(known) >= position

    async def _refresh(self) -> None:
        rows = await self._reads.rows(EVERY_POSITION, ())
        async with self._changed:
            self._positions = {row["projection"]: int(row["position"]) for row in rows}
            self._changed.notify_all()

    async def _listen(self) -> None:
        while True:
            try:
                conn: AsyncConnection[Any] = await AsyncConnection.connect(
                    self._conninfo, autocommit=True
                )
                async with conn:
                    await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(VIEWS_CHANNEL)))
                    self.listening.set()
                    while True:
                        if self.waiting:
                            await self._refresh()
                        async for _ in conn.notifies(timeout=self._fallback_poll, stop_after=1):
                            self._notified += 1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database away: waiters time out meanwhile
                self.listening.clear()
                log.warning("view positions listener lost the database (%s); retrying", error)
                with contextlib.suppress(Exception):
                    if self.waiting:
                        await self._refresh()
                await asyncio.sleep(self._fallback_poll * 4)
