"""Views read from PostgreSQL hot standbys (``READ_DATABASE_URL``), the primary as the fallback.

One home for the choice of where a read goes: the sync read models (admin, console), the
storefront's asyncio reads and the reads by id / ``min_position`` waits all ask
``Standbys.usable()``. Writes, the event store and the projections stay on the primary;
so do the event-store probes of the reads by id (a standby may not have an event yet).

A standby replays the primary's WAL, views and their tracking positions in the same
transactions: a read that waits for a position reads that position on the standby it
then reads the view from, so read-your-writes holds there as on the primary. To keep
the wait and the read on one standby, each process prefers one standby (by its pid, so
API processes spread over the standbys) and moves on only when that one is down or lags.

A monitor thread measures each standby every ``CHECK_SECONDS``: the primary's WAL
position is sampled with its time; a standby's lag is the age of the oldest sample it
has not replayed yet (0 when it has replayed everything the primary had written). A
standby lagging past ``READ_STANDBY_MAX_LAG_SECONDS``, or failing to answer, is left
out until it answers caught up again; a read that fails on a standby is asked again on
the primary, so stopping a standby costs no request an error.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from infra.database import conninfo, parse_database_url

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.25
# How often a read waiting on a standby looks at its views' positions again (a standby
# hears no NOTIFY; the primary's wakes the waiters, who may be a replay too early).
STANDBY_POLL = 0.02
# The primary's WAL position samples kept (at CHECK_SECONDS each: the last minute).
SAMPLES = 240
PRIMARY_LSN = "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"
STANDBY_LSN = "SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn, pg_is_in_recovery()"


def standby_urls(value: str | None) -> list[str]:
    """``READ_DATABASE_URL``'s URLs (comma-separated); ValueError names a bad one."""
    urls = [url.strip() for url in (value or "").split(",") if url.strip()]
    for number, url in enumerate(urls, 1):
        try:
            parse_database_url(url)
        except ValueError as error:
            raise ValueError(f"URL {number}: {error}") from None
    return urls


def standby_name(url: str) -> str:
    """How a standby is named in metrics and /health/status: host:port, no credentials."""
    parts = parse_database_url(url)
    host = parts.host or urlsplit(url).hostname or "local"
    return f"{host}:{parts.port}"


class Standbys:
    """Where reads may go now: each standby's health and lag, measured in the background."""

    def __init__(
        self,
        primary_url: str,
        urls: Sequence[str],
        *,
        max_lag_seconds: float,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self.urls = list(urls)
        self.names = [standby_name(url) for url in urls]
        self.max_lag_seconds = max_lag_seconds
        self._primary = conninfo(primary_url)
        self._conninfos = [conninfo(url) for url in urls]
        self._check = check_seconds
        count = len(urls)
        self.up = [False] * count
        self.lag_seconds: list[float | None] = [None] * count
        self.served = [0] * count  # reads answered by each standby
        self.fallbacks = [0] * count  # reads it failed, asked again on the primary
        # This process's preference: its own first, the others after (in order).
        first = os.getpid() % count if count else 0
        self.preference = [(first + i) % count for i in range(count)]
        self._samples: deque[tuple[float, int]] = deque(maxlen=SAMPLES)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.checked = threading.Event()  # set after each complete round of checks
        self._lock = threading.Lock()

    def usable(self) -> int | None:
        """The standby to read from now, or None: read the primary."""
        return next((index for index in self.preference if self.usable_index_ok(index)), None)

    def usable_index_ok(self, index: int) -> bool:
        lag = self.lag_seconds[index]
        return self.up[index] and lag is not None and lag <= self.max_lag_seconds

    def failed(self, index: int, error: BaseException) -> None:
        """A read failed on that standby: leave it out until the monitor sees it again."""
        with self._lock:
            self.up[index] = False
            self.fallbacks[index] += 1
        log.warning("standby %s failed a read (%s); reading the primary", self.names[index], error)

    def answered(self, index: int) -> None:
        with self._lock:
            self.served[index] += 1

    def start(self) -> None:
        if self._thread is None and self.urls:
            self._thread = threading.Thread(target=self._watch, name="standbys", daemon=True)
            self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def check_once(self, connections: dict[str, psycopg.Connection[Any]]) -> None:
        """One round: sample the primary, then measure every standby against the samples."""
        try:
            primary = self._connected(connections, "primary", self._primary)
            row = primary.execute(PRIMARY_LSN).fetchone()
            if row is not None:
                self._samples.append((time.monotonic(), int(row[0])))
        except psycopg.Error as error:  # the primary away: keep the last picture
            log.warning("standby monitor cannot reach the primary: %s", error)
            self._drop(connections, "primary")
        for index, info in enumerate(self._conninfos):
            key = f"standby-{index}"
            try:
                row = self._connected(connections, key, info).execute(STANDBY_LSN).fetchone()
                replayed, recovering = (int(row[0] or 0), bool(row[1])) if row else (0, False)
                lag = self._lag(replayed) if recovering else None
                self.lag_seconds[index], self.up[index] = lag, lag is not None
            except psycopg.Error:
                self.up[index], self.lag_seconds[index] = False, None
                self._drop(connections, key)
        self.checked.set()

    def _lag(self, replayed: int) -> float:
        """Age of the oldest primary sample this standby has not replayed yet."""
        now = time.monotonic()
        for taken_at, lsn in self._samples:
            if lsn > replayed:
                return now - taken_at
        return 0.0

    def _watch(self) -> None:
        connections: dict[str, psycopg.Connection[Any]] = {}
        try:
            while not self._stop.is_set():
                self.check_once(connections)
                self._stop.wait(self._check)
        finally:
            for key in list(connections):
                self._drop(connections, key)

    @staticmethod
    def _connected(
        connections: dict[str, psycopg.Connection[Any]], key: str, info: str
    ) -> psycopg.Connection[Any]:
        conn = connections.get(key)
        if conn is None or conn.closed or conn.broken:
            conn = psycopg.connect(info, autocommit=True, connect_timeout=2)
            connections[key] = conn
        return conn

    @staticmethod
    def _drop(connections: dict[str, psycopg.Connection[Any]], key: str) -> None:
        conn = connections.pop(key, None)
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()


Params = Sequence[Any] | Mapping[str, Any]


def wait_on(
    look: Callable[[], int | None], position: int, timeout: float, pause: Callable[[float], Any]
) -> bool:
    """Look at a position until it reaches ``position`` (bounded); True when it did."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        seen = look()
        if seen is not None and seen >= position:
            return True
        if time.monotonic() >= deadline:
            return False
        pause(delay)
        delay = min(delay * 2, 0.05)


class StandbyMetrics(Collector):
    """``orderledger_standby_lag_seconds{standby}``, ``orderledger_standby_up{standby}``,
    ``orderledger_standby_reads_total{standby}`` and ``orderledger_standby_fallbacks_total``
    (reads a standby failed, answered by the primary)."""

    def __init__(self, standbys: Standbys) -> None:
        self._standbys = standbys

    def collect(self) -> Iterable[GaugeMetricFamily | CounterMetricFamily]:
        s = self._standbys
        lag = GaugeMetricFamily(
            "orderledger_standby_lag_seconds", "How far each standby is behind", labels=["standby"]
        )
        up = GaugeMetricFamily(
            "orderledger_standby_up", "1 while reads may go to the standby", labels=["standby"]
        )
        reads = CounterMetricFamily(
            "orderledger_standby_reads", "Reads answered by each standby", labels=["standby"]
        )
        fallbacks = CounterMetricFamily(
            "orderledger_standby_fallbacks",
            "Reads a standby failed, answered by the primary",
            labels=["standby"],
        )
        for index, name in enumerate(s.names):
            seconds = s.lag_seconds[index]
            if seconds is not None:
                lag.add_metric([name], seconds)
            up.add_metric([name], 1 if s.usable_index_ok(index) else 0)
            reads.add_metric([name], s.served[index])
            fallbacks.add_metric([name], s.fallbacks[index])
        yield lag
        yield up
        yield reads
        yield fallbacks
