"""Within an HTTP request every wait for a database connection ends at the request's
deadline, so a request that waits several times still answers in bounded time."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool, PoolTimeout

from commands.ledger import Ledger
from infra.app import create_app
from infra.database import event_store_env
from infra.deadline import connection_wait, request_deadline
from infra.pg import open_pool
from infra.schema import create_tables
from infra.stored_reader import stored_reader_for
from infra.storefront_reads import AsyncStorefrontReads
from infra.web.asgi import Receive, Scope, Send
from infra.web.idempotency import Idempotency
from infra.web.request_deadline import RequestDeadline

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]

# Far below every pool's own timeout (5 s, 10 s): a wait that ends near it was cut.
DEADLINE = 0.4
CUT_BY = 3.0


def test_a_wait_is_the_pools_own_outside_a_request_and_cut_to_the_deadline_within() -> None:
    assert connection_wait(10.0) == 10.0
    with request_deadline(60.0):
        assert 59.0 < connection_wait(10_000.0) <= 60.0
        assert connection_wait(5.0) == 5.0
    with request_deadline(-1.0):  # passed: only a connection ready this instant
        assert 0 < connection_wait(5.0) < 0.01
    assert connection_wait(10.0) == 10.0


@contextmanager
def held(pool: ConnectionPool[Any]) -> Iterator[None]:
    """The pool's every connection in use, so the next wait runs to its end."""
    connections = [pool.getconn() for _ in range(pool.max_size)]
    try:
        yield
    finally:
        for conn in connections:
            pool.putconn(conn)


def waited_for_a_connection(pool: ConnectionPool[Any]) -> float:
    started = time.monotonic()
    with request_deadline(DEADLINE), pytest.raises(PoolTimeout), pool.connection():
        pass
    return time.monotonic() - started


def test_our_pool_gives_up_at_the_requests_deadline(database_url: str) -> None:
    pool = open_pool(database_url, min_size=1, max_size=1)
    try:
        with held(pool):
            assert pool.timeout == 10.0
            assert waited_for_a_connection(pool) < CUT_BY
            # Once it has passed, a second wait in the same request gives up at once.
            with request_deadline(-1.0), pytest.raises(PoolTimeout):
                started = time.monotonic()
                pool.getconn()
            assert time.monotonic() - started < CUT_BY
        with request_deadline(-1.0), pool.connection() as conn:  # a ready one is still taken
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        pool.close()


def test_the_event_stores_pool_gives_up_at_the_requests_deadline(database_url: str) -> None:
    ledger = Ledger(env=event_store_env(database_url), stored_reader_for=stored_reader_for)
    try:
        pool: Any = ledger.recorder.datastore.pool  # type: ignore[attr-defined]
        assert pool.timeout >= 5.0
        with held(pool):
            assert waited_for_a_connection(pool) < CUT_BY
    finally:
        ledger.close()


def test_the_storefronts_async_pool_gives_up_at_the_requests_deadline(
    database_url: str,
) -> None:
    async def scenario() -> float:
        reads = await AsyncStorefrontReads.open(database_url, max_size=1)
        pool = reads._pool
        try:
            busy = await pool.getconn()
            try:
                started = time.monotonic()
                with request_deadline(DEADLINE), pytest.raises(PoolTimeout):
                    async with pool.connection():
                        pass
                return time.monotonic() - started
            finally:
                await pool.putconn(busy)
        finally:
            await reads.close()

    assert asyncio.run(scenario()) < CUT_BY


def test_every_http_request_has_its_deadline_in_the_thread_it_runs_in() -> None:
    app = FastAPI()

    @app.get("/threaded")
    def threaded() -> dict[str, float]:  # a sync endpoint: FastAPI's thread pool
        return {"wait": connection_wait(1_000.0)}

    @app.get("/on-the-loop")
    async def on_the_loop() -> dict[str, float]:
        return {"wait": connection_wait(1_000.0)}

    with TestClient(RequestDeadline(app)) as client:
        for path in ("/threaded", "/on-the-loop"):
            wait = client.get(path).json()["wait"]
            assert 0 < wait <= 10.0, (path, wait)
    assert connection_wait(1_000.0) == 1_000.0


def test_the_apis_deadline_is_set_before_any_other_layer_sees_the_request() -> None:
    app = create_app(container_factory=lambda: pytest.fail("not started"))
    outermost: object = app.user_middleware[0].cls
    assert outermost is RequestDeadline


def test_an_answer_is_recorded_for_its_idempotency_key_after_the_deadline_has_passed(
    database_url: str,
) -> None:
    """The request's work used up its time; its answer's record still waits for a
    connection, or a retry with the same key would hear "still running" for two minutes."""
    pool = open_pool(database_url, min_size=1, max_size=1)
    create_tables(pool)
    cart = f"cart_{uuid.uuid4().hex}"
    calls: list[str] = []

    async def checkout(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append(scope["path"])
        # Busy when the answer is recorded; free again a moment later.
        busy = pool.getconn()
        threading.Timer(0.3, pool.putconn, (busy,)).start()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"placed": true}'})

    app = RequestDeadline(
        Idempotency(checkout, pool=lambda: pool, authorize_order=lambda: lambda *_: None),
        seconds=-1.0,  # passed as the request enters: nothing is left for the record
    )
    try:
        client = TestClient(app)  # no lifespan: a bare ASGI app
        path, key = f"/store/carts/{cart}/complete", {"Idempotency-Key": "k-1"}
        first = client.post(path, headers=key)
        again = client.post(path, headers=key)
        assert (first.status_code, first.json()) == (200, {"placed": True})
        assert (again.status_code, again.json()) == (200, {"placed": True})
        assert again.headers["idempotent-replayed"] == "true"
        assert calls == [path]
    finally:
        pool.close()
