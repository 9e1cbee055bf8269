"""A duty runs in one worker at a time: the other waits, and takes it over only after the
holder, its lock connection cut by the server, has stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from infra.database import conninfo
from infra.duties import DUTY_NAMESPACE, HOLDERS, Duty
from tests.e2e.conftest import fresh_database
from tests.faults.probes import wait_until


@pytest.fixture
def store(database_url: str) -> Iterator[str]:
    with fresh_database(database_url) as url:
        yield url


def holders(url: str) -> list[str]:
    with psycopg.connect(conninfo(url)) as conn:
        return [row[1] for row in conn.execute(HOLDERS, (DUTY_NAMESPACE,)).fetchall()]


def test_a_duty_moves_to_the_waiting_worker_only_after_the_cut_holder_stopped(store: str) -> None:
    log: list[tuple[str, str, float]] = []

    def work(holder: str) -> Callable[[threading.Event], None]:
        def run(stop: threading.Event) -> None:
            log.append(("start", holder, time.monotonic()))
            stop.wait()
            log.append(("end", holder, time.monotonic()))

        return run

    stop = threading.Event()
    duties = {
        name: Duty(
            "projections",
            work(name),
            conninfo=conninfo(store),
            holder=f"worker@{name}:1",
            stop=stop,
            check_seconds=0.2,
            retry_seconds=0.1,
        )
        for name in ("a", "b")
    }
    threads = [threading.Thread(target=d.run_forever, daemon=True) for d in duties.values()]
    try:
        # Given worker a holding the duty and worker b asking for it
        threads[0].start()
        wait_until(duties["a"].held.is_set, 10, "a to take the duty")
        threads[1].start()
        wait_until(lambda: duties["b"].attempts >= 3, 10, "b to ask a few times")
        assert not duties["b"].held.is_set()
        assert holders(store) == ["worker@a:1"]
        # When the server cuts a's lock connection
        with psycopg.connect(conninfo(store), autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'worker@a:1'"
            )
        # Then b takes the duty over, and starts it only after a stopped
        wait_until(lambda: [e[:2] for e in log][-1:] == [("start", "b")], 10, "b to start")
        assert [e[:2] for e in log] == [("start", "a"), ("end", "a"), ("start", "b")]
        assert holders(store) == ["worker@b:1"]
        # and a, its connection back, waits for the duty instead of running it too
        wait_until(lambda: duties["a"].attempts >= 3, 10, "a to ask again")
        assert not duties["a"].held.is_set()
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert holders(store) == []
