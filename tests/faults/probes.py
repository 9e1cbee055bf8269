"""What the fault tests share: bounded polling, event counts, servers, a Redis of their own."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import httpx
import psycopg
import redis

from commands.process_manager import FOLLOWER
from domain.ids import payment_collection_id_for
from domain.payment_collection import PaymentCollection
from infra.app import create_app
from infra.container import build_container
from infra.database import conninfo
from infra.settings import Settings
from infra.stripe_emulator import RunningEmulator, free_port
from tests.e2e.conftest import WEBHOOK_SECRET, LiveServer, _serve


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


def settings_for(
    database_url: str, redis_url: str | None, emulator: RunningEmulator, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "stripe_api_key": "sk_test_e2e",
        "stripe_api_base": emulator.url,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "capture_grace_seconds": 3600,
        "rate_limit_carts_per_minute": 1_000_000,
        "rate_limit_reviews_per_minute": 1_000_000,
        "rate_limit_writes_per_minute": 1_000_000,
        "rate_limit_checkout_per_minute": 1_000_000,
        "rate_limit_per_cart_per_minute": 1_000_000,
        "admin_auth_failures_per_minute": 1_000_000,
    }
    return Settings(**{**values, **overrides})


@contextmanager
def api_only_server(
    database_url: str, redis_url: str | None, emulator: RunningEmulator, **overrides: Any
) -> Iterator[LiveServer]:
    """The API on 127.0.0.1 with no background worker: the test runs (or kills) workers."""
    container = build_container(settings_for(database_url, redis_url, emulator, **overrides))
    _, admin_key = container.admin_keys.create("faults")
    app = create_app(container_factory=lambda: container, run_worker=False)
    server, thread = _serve(app, free_port())
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{server.config.port}",
            container=container,
            admin_key=admin_key,
            emulator_url=emulator.url,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()


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


def post_webhook(client: httpx.Client, body: bytes, signature: str) -> httpx.Response:
    return client.post(
        "/webhooks/stripe",
        content=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


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
