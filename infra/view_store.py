"""Postgres side of the views: physical tables per generation, and row access for projectors."""

import hashlib
import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Connection, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from projections.base import Projector, Row

VIEWS = "views"  # stable names readers use (SQL views), tracking and registry
DATA = "view_data"  # the tables behind them, one set per generation


def physical_name(projection: str, table: str, generation: int) -> str:
    return f"{projection}__{table}__g{generation}"


def spec_hash(projector: Projector) -> str:
    """Changes whenever a projector's tables change shape (then it is rebuilt)."""
    text = json.dumps([[t.name, t.columns, t.indexes] for t in projector.tables], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _json_default(value: Any) -> str:
    if isinstance(value, UUID | datetime):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def create_tables(conn: Connection[Any], projector: Projector, generation: int) -> None:
    for table in projector.tables:
        name = sql.Identifier(DATA, physical_name(projector.name, table.name, generation))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))
        columns = sql.SQL(", ").join(
            sql.SQL("{} {}").format(
                sql.Identifier(col), sql.SQL(kind)
            )  # kinds are our own constants
            for col, kind in table.columns.items()
        )
        conn.execute(
            sql.SQL("CREATE TABLE {} ({}, PRIMARY KEY ({}))").format(
                name, columns, sql.Identifier(table.key)
            )
        )
        for index in table.indexes:
            unique = "UNIQUE " if index.startswith("UNIQUE ") else ""
            conn.execute(
                sql.SQL("CREATE {}INDEX ON {} {}").format(
                    sql.SQL(unique), name, sql.SQL(index.removeprefix("UNIQUE "))
                )
            )


def drop_tables(conn: Connection[Any], projector: Projector, generation: int) -> None:
    for table in projector.tables:
        name = sql.Identifier(DATA, physical_name(projector.name, table.name, generation))
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))


def point_views(conn: Connection[Any], projector: Projector, generation: int) -> None:
    """Point the stable name of each table at this generation (in the caller's transaction)."""
    for table in projector.tables:
        stable = sql.Identifier(
            VIEWS, table.name if table is projector.tables[0] else f"{projector.name}__{table.name}"
        )
        target = sql.Identifier(DATA, physical_name(projector.name, table.name, generation))
        conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(stable))
        conn.execute(sql.SQL("CREATE VIEW {} AS SELECT * FROM {}").format(stable, target))


class PostgresViewStore:
    """``projections.base.ViewStore`` over one connection inside the batch's transaction."""

    def __init__(self, conn: Connection[Any], projector: Projector, generation: int) -> None:
        self._conn = conn
        self._tables = {t.name: t for t in projector.tables}
        self._names = {
            t.name: sql.Identifier(DATA, physical_name(projector.name, t.name, generation))
            for t in projector.tables
        }
        self._upserts: dict[str, sql.Composed] = {}

    def fetch(self, table: str, keys: Collection[Any]) -> dict[Any, Row]:
        if not keys:
            return {}
        key = self._tables[table].key
        rows = self.rows_where(table, key, keys)
        return {row[key]: row for row in rows}

    def rows_where(self, table: str, column: str, values: Collection[Any]) -> list[Row]:
        if not values:
            return []
        query = sql.SQL("SELECT * FROM {} WHERE {} = ANY(%s)").format(
            self._names[table], sql.Identifier(column)
        )
        with self._conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, (list(values),))
            return cur.fetchall()

    def upsert(self, table: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        spec = self._tables[table]
        jsonb = [col for col, kind in spec.columns.items() if kind == "jsonb"]
        params = []
        for row in rows:
            values = [row.get(col) for col in spec.columns]
            for i, col in enumerate(spec.columns):
                if col in jsonb and values[i] is not None:
                    values[i] = Jsonb(values[i], dumps=_dumps)
            params.append(values)
        with self._conn.cursor() as cur:
            cur.executemany(self._upsert_sql(table), params)

    def _upsert_sql(self, table: str) -> sql.Composed:
        if table not in self._upserts:
            spec = self._tables[table]
            cols = list(spec.columns)
            self._upserts[table] = sql.SQL(
                "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}"
            ).format(
                self._names[table],
                sql.SQL(", ").join(map(sql.Identifier, cols)),
                sql.SQL(", ").join(sql.Placeholder() * len(cols)),
                sql.Identifier(spec.key),
                sql.SQL(", ").join(
                    sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in cols[1:]
                ),
            )
        return self._upserts[table]
