"""Pooled connections are pinged only when they have not answered for a second, and a
read on a connection the server dropped in that second is asked again."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from infra.pg import AsyncCheckUnlessRecent, CheckUnlessRecent, open_pool
from infra.storefront_reads import AsyncStorefrontReads

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


class Counted:
    """A connection stand-in that counts the pings the pool's check sends it."""

    autocommit = True

    def __init__(self) -> None:
        self.pings = 0

    def execute(self, query: str) -> None:
        assert query == ""
        self.pings += 1


class AsyncCounted(Counted):
    async def execute(self, query: str) -> None:  # type: ignore[override]
        Counted.execute(self, query)


def test_a_connection_is_pinged_again_only_after_the_interval() -> None:
    check = CheckUnlessRecent(seconds=3600)
    first, second = Counted(), Counted()
    for _ in range(3):
        check(first)  # type: ignore[arg-type]
    check(second)  # type: ignore[arg-type]
    assert (first.pings, second.pings) == (1, 1)
    always = CheckUnlessRecent(seconds=0)
    for _ in range(3):
        always(first)  # type: ignore[arg-type]
    assert first.pings == 4


def test_the_async_check_pings_as_the_sync_one() -> None:
    check = AsyncCheckUnlessRecent(seconds=3600)
    conn = AsyncCounted()

    async def checks() -> None:
        for _ in range(3):
            await check(conn)  # type: ignore[arg-type]

    asyncio.run(checks())
    assert conn.pings == 1


def _terminate(database_url: str, pid: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as admin:
        row = admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
    assert row == (True,)


def test_a_pool_hands_out_a_working_connection_after_the_server_dropped_an_idle_one(
    database_url: str,
) -> None:
    pool = open_pool(database_url, min_size=1, max_size=1)
    try:
        with pool.connection() as conn:
            pid = conn.info.backend_pid
        _terminate(database_url, pid)
        # Beyond the interval the check pings, finds it gone and the pool replaces it.
        check = pool._check
        assert isinstance(check, CheckUnlessRecent)
        check._last.seconds = 0
        with pool.connection() as conn:
            assert conn.execute("SELECT 2").fetchone() == (2,)
            assert conn.info.backend_pid != pid
    finally:
        pool.close()


def test_a_read_on_a_dropped_connection_within_the_interval_is_asked_again(
    database_url: str,
) -> None:
    async def scenario() -> Any:
        reads = await AsyncStorefrontReads.open(database_url, max_size=1)
        try:
            pid = (await reads._all("SELECT pg_backend_pid() AS pid", ()))[0]["pid"]
            _terminate(database_url, pid)
            # Used a moment ago, so handed out unpinged: the read fails once, then answers.
            return (await reads._all("SELECT 2 AS two", ()))[0]["two"]
        finally:
            await reads.close()

    assert asyncio.run(scenario()) == 2


def test_a_read_that_fails_on_a_working_connection_is_not_asked_again(
    database_url: str,
) -> None:
    sequence = f"pool_check_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SEQUENCE {}").format(sql.Identifier(sequence)))

    async def scenario() -> None:
        reads = await AsyncStorefrontReads.open(database_url, max_size=1)
        try:
            # Cancelled by the server (as a statement timeout would be): the
            # connection is fine and the error is the answer, not a reason to retry.
            with pytest.raises(psycopg.errors.QueryCanceled):
                await reads._all(
                    "SELECT nextval(%s), pg_cancel_backend(pg_backend_pid()), pg_sleep(5)",
                    (sequence,),
                )
        finally:
            await reads.close()

    try:
        asyncio.run(scenario())
        with psycopg.connect(database_url, autocommit=True) as admin:
            row = admin.execute(
                sql.SQL("SELECT last_value FROM {}").format(sql.Identifier(sequence))
            ).fetchone()
        assert row == (1,)
    finally:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SEQUENCE {}").format(sql.Identifier(sequence)))
