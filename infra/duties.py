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
import time
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
# Sharing: a worker holding two duties more than a live peer gives one up at most this
# often, and waits this long before asking for it again (the peer takes it meanwhile).
YIELD_EVERY = 2.0
YIELD_PAUSE = 5.0
RETRY_SECONDS = 1.0

HOLDERS = (
    "SELECT l.objid::int AS number, a.application_name AS worker, a.backend_start "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objsubid = 2 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

# Workers with a lock connection open (holding or waiting), by name.
LIVE_WORKERS = (
    "SELECT DISTINCT application_name FROM pg_stat_activity "
    "WHERE datname = current_database() AND application_name LIKE 'worker@%%'"
)


def duties_expected(settings: Any, *, redis: bool, stripe_records: object | None) -> frozenset[str]:
    """The duties the workers of this configuration run: the capture listener only with
    Redis, the reconciler only when RECONCILE_EVERY > 0 and Stripe's records are read."""
    expected = set(DUTIES)
    if not redis:
        expected.discard("capture-listener")
    if not (settings.reconcile_every > 0 and stripe_records):
        expected.discard("reconciler")
    return frozenset(expected)


def expected_duties(container: Any) -> frozenset[str]:
    """The duties a built container's workers run (``duties_expected``, decided at its build)."""
    expected: frozenset[str] = container.expected_duties
    return expected


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
        may_keep: Callable[[str], bool] | None = None,
    ) -> None:
        self.name = name
        self._may_keep = may_keep  # asked at each check: False gives the duty to a peer
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
                            if not self._hold(conn, taken_over=taken_over):
                                break
                            # Given up to a worker holding fewer: leave it time to take it.
                            self._stop.wait(YIELD_PAUSE)
                        else:
                            self._stop.wait(self._retry)
                        taken_over = True  # another worker held it, or may now
            except psycopg.Error as error:
                log.warning("duty %s: lock connection failed (%s); retrying", self.name, error)
            self._stop.wait(self._retry)

    def _try_lock(self, conn: psycopg.Connection[Any]) -> bool:
        self.attempts += 1
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (DUTY_NAMESPACE, self.number)
        ).fetchone()
        return bool(row and row[0])

    def _hold(self, conn: psycopg.Connection[Any], *, taken_over: bool) -> bool:
        """Run the duty while the lock holds; True when it was given up to a peer."""
        if taken_over and self._stop.wait(self._check + HANDOVER_MARGIN):
            return False  # a holder whose connection closed learns it at its next check
        yielded = False
        tenure = threading.Event()
        thread = threading.Thread(target=self._perform, args=(tenure,), name=self.name, daemon=True)
        self.tenures += 1
        self.held.set()
        log.info("duty %s taken", self.name)
        thread.start()
        try:
            while thread.is_alive() and not self._stop.wait(self._check):
                conn.execute("SELECT 1")
                if self._may_keep is not None and not self._may_keep(self.name):
                    yielded = True
                    break
        except psycopg.Error as error:
            log.warning("duty %s: lost the lock connection (%s); stopping it", self.name, error)
        finally:
            tenure.set()
            thread.join()
            self.held.clear()
        if not conn.closed and not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (DUTY_NAMESPACE, self.number))
        log.info("duty %s given up%s", self.name, " to a peer" if yielded else "")
        return yielded

    def _perform(self, tenure: threading.Event) -> None:
        try:
            self._run(tenure)
        except Exception:
            log.exception("duty %s failed; giving it up for another try", self.name)


class Sharing:
    """Spread the duties over the live workers: one holding two more than a peer gives one
    up (one every ``YIELD_EVERY``), until they differ by one at most. A worker is live while
    its lock connections are (``pg_stat_activity``), so a dead one is never given a duty."""

    def __init__(self, pool: Pool, holder: str, duties: dict[str, Duty]) -> None:
        self._pool = pool
        self._me = holder[:63]
        self._duties = duties
        self._lock = threading.Lock()
        self._last_yield = 0.0
        self._counts: dict[str, int] = {}
        self._counted_at = -1.0

    def may_keep(self, _duty: str) -> bool:
        with self._lock:
            now = time.monotonic()
            if now - self._last_yield < YIELD_EVERY:
                return True
            mine = sum(1 for duty in self._duties.values() if duty.held.is_set())
            if mine < 2:
                return True
            try:
                counts = self._live_counts(now)
            except Exception:  # the database away: keep what we hold
                return True
            others = [n for worker, n in counts.items() if worker != self._me]
            if not others or min(others) >= mine - 1:
                return True
            self._last_yield = now
            self._counted_at = -1.0  # ask again next time: the picture is changing
            return False

    def _live_counts(self, now: float) -> dict[str, int]:
        if now - self._counted_at < CHECK_SECONDS:
            return self._counts
        with self._pool.connection(timeout=2.0) as conn:
            live = conn.execute(LIVE_WORKERS).fetchall()
            held = conn.execute(HOLDERS, (DUTY_NAMESPACE,)).fetchall()
        counts = {str(row[0]): 0 for row in live}
        for _, worker, _ in held:
            counts[str(worker)] = counts.get(str(worker), 0) + 1
        self._counts, self._counted_at = counts, now
        return counts


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
    ``orderledger_duties_unheld`` (duties of ``expected`` no worker holds: none runs them)."""

    def __init__(
        self, holders: Callable[[], Iterable[DutyHolder]], expected: frozenset[str]
    ) -> None:
        self._holders = holders
        self._expected = expected

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
            unheld.add_metric([], len(self._expected - {holder.duty for holder in holders}))
        yield held
        yield unheld
