"""What the fault tests share: bounded polling, event counts, servers, a Redis of their own."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
import redis

from commands.process_manager import FOLLOWER
from domain.ids import payment_collection_id_for
from domain.payment_collection import PaymentCollection
from infra.database import conninfo
from infra.stripe_emulator import RunningEmulator, free_port
from tests.e2e.conftest import LiveServer, running_server, server_settings
from tests.e2e.conftest import post_webhook as post_webhook  # the fault tests' name for it


def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        pause.wait(0.05)


def count_events(database_url: str, topic_suffix: str, originator_id: UUID | None = None) -> int:
    """Rows in the event store whose topic ends with ``topic_suffix`` (of one aggregate)."""
    query = "SELECT count(*) FROM orderledger_events WHERE topic LIKE %s"
    params: list[Any] = [f"%{topic_suffix}"]
    if originator_id is not None:
        query += " AND originator_id = %s"
        params.append(originator_id)
    with psycopg.connect(conninfo(database_url)) as connection:
        row = connection.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])


def events_by_originator(database_url: str, topic_suffix: str) -> dict[UUID, int]:
    """How many events with that topic each aggregate has."""
    with psycopg.connect(conninfo(database_url)) as connection:
        rows = connection.execute(
            "SELECT originator_id, count(*) FROM orderledger_events "
            "WHERE topic LIKE %s GROUP BY originator_id",
            (f"%{topic_suffix}",),
        ).fetchall()
    return {row[0]: int(row[1]) for row in rows}


def payment_of(server: LiveServer, order_id: UUID) -> PaymentCollection:
    payment: PaymentCollection = server.container.ledger.repository.get(
        payment_collection_id_for(order_id)
    )
    assert isinstance(payment, PaymentCollection)
    return payment


settings_for = server_settings  # the live servers' one set of settings


@contextmanager
def api_only_server(
    database_url: str, redis_url: str | None, emulator: RunningEmulator, **overrides: Any
) -> Iterator[LiveServer]:
    """The API on 127.0.0.1 with no background worker: the test runs (or kills) workers."""
    with running_server(
        database_url,
        redis_url,
        emulator,
        run_worker=False,
        admin_key_name="faults",
        **overrides,
    ) as server:
        yield server


def settled(server: LiveServer, timeout: float = 20.0) -> int:
    """Wait until the process manager and every projection have reached the head."""
    ledger = server.container.ledger
    projections = server.container.projections

    def caught_up() -> bool:
        # Positions first, then the head (see tests.e2e.ledger_probe.settled_head).
        followed = ledger.followed_up_to(FOLLOWER)
        views = projections.status()
        head = ledger.head
        return followed >= head and all(s.position >= head for s in views)

    wait_until(caught_up, timeout, "the worker catching up with the log")
    return ledger.head


class OwnRedis:
    """A redis-server of this test's own on 127.0.0.1, to kill and start again (empty)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            wait_until(answers, 10, "redis-server to answer")
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no save — what a crash or an OOM kill does."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.kill()
