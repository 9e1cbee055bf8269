"""Each background duty held by one worker at a time, taken over when its holder dies.

Any number of ``orderledger worker`` processes may run against one store. Each duty
(projections, process manager, notifier, …) is a PostgreSQL session-level advisory lock
``(DUTY_NAMESPACE, number)`` held on a connection of its own: the server gives the lock
back the moment that connection goes (a SIGKILL closes the socket at once), so another
worker, trying every ``retry_seconds``, takes the duty over within about a second.

A worker that takes a duty over from another waits one check interval before starting
it, so that a holder whose connection the server closed has noticed and stopped.

A silent network cut is the careful case: the holder must stop before the server lets another
worker in. The holder asks its lock connection ``SELECT 1`` every ``check_seconds`` with
``tcp_user_timeout`` = ``CLIENT_GIVES_UP_MS``, so it learns of the cut and stops the duty
within check + 3 s; the server keeps the session (and the lock) until its own keepalives
fail, ``SERVER_KEEPALIVE_IDLE`` + interval × count = 8 s at the earliest. Never two.

Who holds what is read from ``pg_locks`` (the lock connection carries the worker's name
as ``application_name``), so ``/health/status`` and the metrics show the server's truth.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from infra.pg import Pool

log = logging.getLogger(__name__)

# The advisory lock's first key: ours, apart from the locks of use cases (hashtext(...)).
DUTY_NAMESPACE = 24_024
# Every duty with its lock number (append only: a number is what two versions agree on).
DUTIES: dict[str, int] = {
    "projections": 1,
    "process-manager": 2,
    "notifier": 3,
    "mail-sender": 4,
    "capture-listener": 5,
    "capture-sweeper": 6,
    "file-sweeper": 7,
    "reconciler": 8,
}
CLIENT_GIVES_UP_MS = 3000
SERVER_KEEPALIVE_IDLE, SERVER_KEEPALIVE_INTERVAL, SERVER_KEEPALIVE_COUNT = 5, 1, 3
CHECK_SECONDS = 1.0
# Taking a duty from another worker, wait its check interval and this much before starting:
# when the server dropped the holder's connection (a proxy's cut, a terminated backend) the
# holder learns it at its next check, and stops, before the new holder begins.
HANDOVER_MARGIN = 0.5
RETRY_SECONDS = 1.0

HOLDERS = (
    "SELECT l.objid::int AS number, a.application_name AS worker, a.backend_start "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objsubid = 2 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def lock_conninfo(conninfo: str, holder: str) -> str:
    """The lock connection: named after its worker, and quick to notice a dead network."""
    return psycopg.conninfo.make_conninfo(
        conninfo,
        application_name=holder[:63],
        keepalives=1,
        keepalives_idle=1,
        keepalives_interval=1,
        keepalives_count=2,
        tcp_user_timeout=CLIENT_GIVES_UP_MS,
        connect_timeout=3,
    )


class Duty:
    """One duty of one worker: wait for its lock, run it while held, stop when lost."""

    def __init__(
        self,
        name: str,
        run: Callable[[threading.Event], Any],
        *,
        conninfo: str,
        holder: str,
        stop: threading.Event,
        check_seconds: float = CHECK_SECONDS,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.name = name
        self.number = DUTIES[name]
        self._run = run
        self._conninfo = lock_conninfo(conninfo, holder)
        self._stop = stop
        self._check = check_seconds
        self._retry = retry_seconds
        self.held = threading.Event()  # set while this worker holds the duty
        self.tenures = 0  # how many times this worker took the duty
        self.attempts = 0  # how many times it asked for the lock

    def run_forever(self) -> None:
        """Until the worker stops: take the duty when free, hold it, give it up when lost."""
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(
                        f"SET tcp_keepalives_idle = {SERVER_KEEPALIVE_IDLE}; "
                        f"SET tcp_keepalives_interval = {SERVER_KEEPALIVE_INTERVAL}; "
                        f"SET tcp_keepalives_count = {SERVER_KEEPALIVE_COUNT}"
                    )
                    taken_over = False
                    while not self._stop.is_set():
                        if self._try_lock(conn):
                            self._hold(conn, taken_over=taken_over)
                            break
                        taken_over = True  # another worker held it while we waited
                        self._stop.wait(self._retry)
            except psycopg.Error as error:
                log.warning("duty %s: lock connection failed (%s); retrying", self.name, error)
            self._stop.wait(self._retry)

    def _try_lock(self, conn: psycopg.Connection[Any]) -> bool:
        self.attempts += 1
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (DUTY_NAMESPACE, self.number)
        ).fetchone()
        return bool(row and row[0])

    def _hold(self, conn: psycopg.Connection[Any], *, taken_over: bool) -> None:
        if taken_over and self._stop.wait(self._check + HANDOVER_MARGIN):
            return  # a holder whose connection closed learns it at its next check: let it stop
        tenure = threading.Event()
        thread = threading.Thread(target=self._perform, args=(tenure,), name=self.name, daemon=True)
        self.tenures += 1
        self.held.set()
        log.info("duty %s taken", self.name)
        thread.start()
        try:
            while thread.is_alive() and not self._stop.wait(self._check):
                conn.execute("SELECT 1")
        except psycopg.Error as error:
            log.warning("duty %s: lost the lock connection (%s); stopping it", self.name, error)
        finally:
            tenure.set()
            thread.join()
            self.held.clear()
        if not conn.closed and not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (DUTY_NAMESPACE, self.number))
        log.info("duty %s given up", self.name)

    def _perform(self, tenure: threading.Event) -> None:
        try:
            self._run(tenure)
        except Exception:
            log.exception("duty %s failed; giving it up for another try", self.name)


@dataclass(frozen=True)
class DutyHolder:
    duty: str
    worker: str


def duty_holders(pool: Pool, timeout: float = 2.0) -> list[DutyHolder]:
    """Which worker holds each duty now, as the server's lock table says."""
    names = {number: name for name, number in DUTIES.items()}
    with pool.connection(timeout=timeout) as conn:
        rows = conn.execute(HOLDERS, (DUTY_NAMESPACE,)).fetchall()
    return sorted(
        (
            DutyHolder(names[int(number)], str(worker))
            for number, worker, _ in rows
            if number in names
        ),
        key=lambda holder: DUTIES[holder.duty],
    )


class DutyHolders(Collector):
    """``orderledger_duty_held{duty, worker}`` = 1 for each duty's holder, and
    ``orderledger_duties_unheld`` (duties no worker holds: none runs them)."""

    def __init__(self, holders: Callable[[], Iterable[DutyHolder]]) -> None:
        self._holders = holders

    def collect(self) -> Iterable[GaugeMetricFamily]:
        held = GaugeMetricFamily(
            "orderledger_duty_held", "The worker holding each duty", labels=["duty", "worker"]
        )
        unheld = GaugeMetricFamily("orderledger_duties_unheld", "Duties no worker holds")
        try:
            holders = list(self._holders())
        except Exception:  # a scrape must not fail because the database is away
            holders = None
        if holders is not None:
            for holder in holders:
                held.add_metric([holder.duty, holder.worker], 1)
            unheld.add_metric([], len(set(DUTIES) - {holder.duty for holder in holders}))
        yield held
        yield unheld
