"""The reads of the views on the chosen standby (``infra.read_replicas``), sync and asyncio.

Each answers None when no standby is usable or the one chosen fails: the caller then
reads the primary, as it would without ``READ_DATABASE_URL``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection, Connection
from psycopg.rows import DictRow, TupleRow, dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from infra.database import conninfo
from infra.pg import AsyncCheckUnlessRecent, CheckUnlessRecent, plan_once
from infra.read_replicas import Params, Standbys

Row = dict[str, Any]
# A standby pool waits this long for a connection before the read goes to the primary.
CONNECTION_WAIT = 1.0


class StandbyReads:
    """Sync reads (the admin read models, the console) on a pool per standby."""

    def __init__(self, standbys: Standbys, *, max_size: int = 10) -> None:
        self.standbys = standbys
        self._pools: list[ConnectionPool[Connection[TupleRow]]] = [
            ConnectionPool(
                conninfo(url),
                min_size=0,
                max_size=max_size,
                open=True,
                timeout=CONNECTION_WAIT,
                kwargs={"autocommit": True},
                check=CheckUnlessRecent(),
            )
            for url in standbys.urls
        ]

    def all(self, query: str, params: Params) -> list[Row] | None:
        index = self.standbys.usable()
        if index is None:
            return None
        try:
            with (
                self._pools[index].connection() as conn,
                conn.cursor(row_factory=dict_row) as cur,
            ):
                cur.execute(query, params)
                rows = cur.fetchall()
        except (psycopg.OperationalError, PoolTimeout) as error:
            self.standbys.failed(index, error)
            return None
        self.standbys.answered(index)
        return rows

    def close(self) -> None:
        for pool in self._pools:
            pool.close()


class AsyncStandbyReads:
    """The storefront's asyncio reads (and the views' positions) on a pool per standby."""

    def __init__(self, standbys: Standbys, *, max_size: int = 10) -> None:
        self.standbys = standbys
        self._pools: list[AsyncConnectionPool[AsyncConnection[DictRow]]] = [
            AsyncConnectionPool(
                conninfo(url),
                min_size=0,
                max_size=max_size,
                open=False,
                timeout=CONNECTION_WAIT,
                kwargs={"autocommit": True, "row_factory": dict_row},
                check=AsyncCheckUnlessRecent(),
                configure=plan_once,
            )
            for url in standbys.urls
        ]

    async def open(self) -> None:
        for pool in self._pools:
            await pool.open(wait=False)

    async def all(self, query: str, params: Params) -> list[Row] | None:
        index = self.standbys.usable()
        if index is None:
            return None
        try:
            async with self._pools[index].connection() as conn:
                cursor = await conn.execute(query, params)
                rows = await cursor.fetchall()
        except (psycopg.OperationalError, PoolTimeout) as error:
            self.standbys.failed(index, error)
            return None
        self.standbys.answered(index)
        return rows

    async def close(self) -> None:
        for pool in self._pools:
            await pool.close()
