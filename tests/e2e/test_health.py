"""Readiness says whether this process can serve; the workers and the views are reported
by /health/status and the metrics, so a stopped worker takes no API replica out of rotation."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator

import pytest

from infra.database import parse_database_url
from infra.schema import SCHEMA
from infra.stripe_emulator import RunningEmulator
from infra.worker import Worker
from tests.databases import fresh_database as a_database
from tests.e2e.conftest import LiveServer, running_server, server_of_its_own
from tests.e2e.tcp_proxy import TcpProxy, through

STALE = "worker@crashed-host:4242"


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    """An API with no worker of its own (its own database: no other worker reports there)."""
    with server_of_its_own(database_url, redis_url, stripe_emulator, run_worker=False) as live:
        yield live


def test_with_no_worker_running_the_api_is_ready_and_the_status_says_so(
    server: LiveServer,
) -> None:
    with server.client() as client:
        ready = client.get("/health/ready")
        status = client.get("/health/status")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready"}
    assert status.status_code == 200
    assert status.json()["status"] == "degraded"
    assert status.json()["problems"]["worker"] == "no worker has reported in the last 30 s"
    assert status.json()["workers"] == []


def test_the_status_names_the_stale_worker_beside_the_fresh_one(server: LiveServer) -> None:
    with server.container.pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {SCHEMA}.heartbeats VALUES (%s, now() - interval '95 seconds') "
            "ON CONFLICT (name) DO UPDATE SET beat_at = EXCLUDED.beat_at",
            (STALE,),
        )
    worker = Worker(server.container, poll_seconds=0.2, name="worker@alive-host:1")
    worker.start()
    try:
        with server.client() as client:
            deadline = time.monotonic() + 10
            while "worker@alive-host:1" not in client.get("/health/status").text:
                assert time.monotonic() < deadline
            status = client.get("/health/status").json()
            ready = client.get("/health/ready")
            metrics = client.get("/metrics").text
    finally:
        worker.stop()
        with server.container.pool.connection() as conn:
            conn.execute(f"DELETE FROM {SCHEMA}.heartbeats WHERE name = %s", (STALE,))
    assert ready.status_code == 200
    assert status["status"] == "degraded"
    assert set(status["problems"]) == {STALE}
    assert status["problems"][STALE].startswith("stale: last heartbeat 9")
    workers = {w["name"]: w for w in status["workers"]}
    assert workers["worker@alive-host:1"]["fresh"] is True
    assert workers[STALE]["fresh"] is False and workers[STALE]["last_heartbeat_seconds_ago"] >= 95
    assert {v["name"] for v in status["views"]} >= {"admin_orders", "storefront_orders"}
    assert "orderledger_workers_fresh 1.0" in metrics
    age = re.search(
        r'orderledger_worker_heartbeat_age_seconds\{worker="worker@crashed-host:4242"\} ([0-9.]+)',
        metrics,
    )
    assert age is not None and float(age.group(1)) >= 95


def test_a_worker_that_stops_cleanly_is_not_named_stale(server: LiveServer) -> None:
    worker = Worker(server.container, poll_seconds=0.2, name="worker@leaving-host:7")
    worker.start()
    with server.client() as client:
        deadline = time.monotonic() + 10
        while "worker@leaving-host:7" not in client.get("/health/status").text:
            assert time.monotonic() < deadline
        worker.stop()
        status = client.get("/health/status").json()
    assert "worker@leaving-host:7" not in {w["name"] for w in status["workers"]}


def test_the_status_carries_no_secret(server: LiveServer) -> None:
    with server.client() as client:
        text = client.get("/health/status").text
    for secret in ("sk_test", "whsec", "postgresql://", "redis://", "olk_", "@example.com"):
        assert secret not in text


def _tcp_postgres(database_url: str) -> tuple[str, int] | None:
    url = parse_database_url(database_url)
    try:
        with socket.create_connection((url.host, int(url.port)), timeout=1):
            return url.host, int(url.port)
    except OSError:
        return None


def test_readiness_is_503_with_postgresql_cut_and_200_again_with_no_worker_at_all(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> None:
    target = _tcp_postgres(database_url)
    if target is None:
        pytest.skip("needs PostgreSQL over TCP on 127.0.0.1 to put a proxy in between")
    proxy = TcpProxy(target)
    proxy.start()
    admin_url = f"postgresql://postgres@{target[0]}:{target[1]}/postgres"
    try:
        with (
            a_database(admin_url, "orderledger_ready") as direct,
            running_server(
                through(proxy, direct), redis_url, stripe_emulator, run_worker=False
            ) as live,
            live.client() as client,
        ):
            assert client.get("/health/ready").status_code == 200
            proxy.cut()
            down = client.get("/health/ready")
            assert down.status_code == 503
            assert set(down.json()["problems"]) == {"postgres"}
            assert client.get("/health").status_code == 200
            assert client.get("/health/status").status_code == 503
            proxy.start()
            deadline = time.monotonic() + 20
            while (answer := client.get("/health/ready")).status_code != 200:
                assert time.monotonic() < deadline, answer.text
    finally:
        proxy.cut()
