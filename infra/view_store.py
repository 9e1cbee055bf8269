"""Postgres side of the views: physical tables per generation, and row access for projectors."""

import hashlib
import itertools
import json
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import Connection, sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from projections.base import Projector, Row, Table

VIEWS = "views"  # stable names readers use (SQL views), tracking and registry
DATA = "view_data"  # the tables behind them, one set per generation

# From this many rows on, an upsert goes through COPY (rebuilds, long catch-ups).
COPY_ROWS = 500
# Column kinds binary COPY writes, with the Python types it takes for each (exactly).
_BINARY_TYPES: dict[str, set[type]] = {
    "uuid": {UUID, type(None)},
    "text": {str, type(None)},
    "bigint": {int, type(None)},
    "integer": {int, type(None)},
    "smallint": {int, type(None)},
    "boolean": {bool, type(None)},
    "timestamptz": {datetime, type(None)},
    "jsonb": {Jsonb, type(None)},
}
_stages = itertools.count()  # names of scratch tables, unique within the process


def physical_name(projection: str, table: str, generation: int) -> str:
    return f"{projection}__{table}__g{generation}"


def spec_hash(projector: Projector) -> str:
    """Changes whenever a projector's tables change shape or it reads other events (then
    it is rebuilt: rows made without those events would be wrong)."""
    tables = [[t.name, t.columns, t.indexes] for t in projector.tables]
    topics = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in projector.topics)
    text = json.dumps([tables, topics], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _json_default(value: Any) -> str:
    if isinstance(value, UUID | datetime):
        return str(value) if isinstance(value, UUID) else value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every value (json.dumps with options builds a new one per call).
_dumps = json.JSONEncoder(default=_json_default, separators=(",", ":")).encode


def _jsonb(value: Any) -> Jsonb:
    return Jsonb(value, dumps=_dumps)


def create_tables(
    conn: Connection[Any], projector: Projector, generation: int, *, indexes: bool = True
) -> None:
    """The generation's tables, with their indexes unless ``indexes`` is False (a rebuild
    loads them first and then calls ``create_indexes``: one sort instead of an index
    insertion per row); those the projector reads by (``Table.read_by``) always."""
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
    _create(conn, projector, generation, lambda table: table.indexes if indexes else table.read_by)


def create_indexes(conn: Connection[Any], projector: Projector, generation: int) -> None:
    """The secondary indexes of the generation's tables (the primary keys come with them),
    but for those a rebuild made with the tables (``Table.read_by``)."""
    _create(
        conn,
        projector,
        generation,
        lambda table: tuple(i for i in table.indexes if i not in table.read_by),
    )


def _create(
    conn: Connection[Any],
    projector: Projector,
    generation: int,
    which: Callable[[Table], tuple[str, ...]],
) -> None:
    for table in projector.tables:
        name = sql.Identifier(DATA, physical_name(projector.name, table.name, generation))
        for index in which(table):
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
        self._layouts: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
        # Keys known (from fetches and writes in this transaction) to be in a table, or not.
        self._present: dict[str, set[Any]] = {t.name: set() for t in projector.tables}
        self._absent: dict[str, set[Any]] = {t.name: set() for t in projector.tables}

    def fetch(self, table: str, keys: Collection[Any]) -> dict[Any, Row]:
        if not keys:
            return {}
        key = self._tables[table].key
        rows = self.rows_where(table, key, keys)
        found = {row[key]: row for row in rows}
        self._present[table].update(found)
        self._absent[table].update(k for k in keys if k not in found)
        return found

    def rows_where(self, table: str, column: str, values: Collection[Any]) -> list[Row]:
        if not self._tables[table].can_read_by(column):
            raise ValueError(f"{table} has no index to read by {column}: declare it in read_by.")
        if not values:
            return []
        query = sql.SQL("SELECT * FROM {} WHERE {} = ANY(%b)").format(
            self._names[table], sql.Identifier(column)
        )
        with self._conn.cursor(row_factory=dict_row) as cur:
            cur.execute(query, (list(values),))
            return cur.fetchall()

    def upsert(self, table: str, rows: Sequence[Row]) -> None:
        if not rows:
            return
        columns, jsonb = self._layout(table)
        params = []
        for row in rows:
            values = list(map(row.get, columns))
            for i in jsonb:
                if values[i] is not None:
                    values[i] = _jsonb(values[i])
            params.append(values)
        if len(params) >= COPY_ROWS and self._copyable(table, params):
            self._copy_upsert(table, params)
        else:
            with self._conn.cursor() as cur:
                cur.executemany(self._upsert_sql(table), params)
        written = {values[0] for values in params}
        self._present[table].update(written)
        self._absent[table].difference_update(written)

    def _layout(self, table: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The table's columns, and the positions of its jsonb columns."""
        if table not in self._layouts:
            spec = self._tables[table]
            kinds = list(spec.columns.values())
            self._layouts[table] = (
                tuple(spec.columns),
                tuple(i for i, kind in enumerate(kinds) if kind == "jsonb"),
            )
        return self._layouts[table]

    def _copyable(self, table: str, params: list[list[Any]]) -> bool:
        """Whether binary COPY stores exactly what the plain upsert would: every value is
        None or of the Python type its column's binary format is written from (anything
        else, say a str for a uuid that the server would cast, takes the plain upsert)."""
        kinds = self._tables[table].columns.values()
        for kind, column in zip(kinds, zip(*params, strict=True), strict=True):
            allowed = _BINARY_TYPES.get(kind)
            if allowed is None or not set(map(type, column)) <= allowed:
                return False
            if kind == "timestamptz" and any(v is not None and v.tzinfo is None for v in column):
                return False
        return True

    def _copy_upsert(self, table: str, params: list[list[Any]]) -> None:
        """Many rows: those with new keys are COPYed straight into the table; those whose
        key exists go through a scratch table and one INSERT … ON CONFLICT (a few: through
        the plain upsert). Keys this transaction fetched or wrote are known already; the
        others are looked up.

        Every writer of a view table holds its projection's lock for the transaction, so
        no key appears or goes between the look-up and the COPY. Rows with the same key
        leave the last one, as one upsert after another would.
        """
        latest = {values[0]: values for values in params}
        spec = self._tables[table]
        target = self._names[table]
        key = sql.Identifier(spec.key)
        cols = sql.SQL(", ").join(map(sql.Identifier, spec.columns))
        kinds = list(spec.columns.values())
        present, absent = self._present[table], self._absent[table]
        existing = [latest.pop(k) for k in [k for k in latest if k in present]]
        with self._conn.cursor() as cur:
            if unknown := [k for k in latest if k not in absent]:
                cur.execute(
                    sql.SQL("SELECT {} FROM {} WHERE {} = ANY(%b)").format(key, target, key),
                    (unknown,),
                )
                existing += [latest.pop(found) for (found,) in cur.fetchall()]
            if latest:
                with cur.copy(
                    sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(target, cols)
                ) as copy:
                    copy.set_types(kinds)
                    for values in latest.values():
                        copy.write_row(values)
            if len(existing) < COPY_ROWS:
                if existing:
                    cur.executemany(self._upsert_sql(table), existing)
                return
            stage = sql.Identifier(f"upsert_stage_{next(_stages)}")
            cur.execute(sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {})").format(stage, target))
            with cur.copy(
                sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(stage, cols)
            ) as copy:
                copy.set_types(kinds)
                for values in existing:
                    copy.write_row(values)
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT ({}) DO UPDATE SET {}"
                ).format(target, cols, cols, stage, key, self._set_excluded(table))
            )
            cur.execute(sql.SQL("DROP TABLE {}").format(stage))

    def _set_excluded(self, table: str) -> sql.Composed:
        return sql.SQL(", ").join(
            sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
            for c in list(self._tables[table].columns)[1:]
        )

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
                self._set_excluded(table),
            )
        return self._upserts[table]
