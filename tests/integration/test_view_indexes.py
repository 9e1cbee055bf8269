"""A view table's rows are read only through an index, also while a rebuild loads it.

A rebuild makes a table's secondary indexes once the table is loaded (one sort, not an
insertion per row), except those its projector reads rows by (``Table.read_by``):
without them, each batch of the rebuild scanned every row loaded so far.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from infra.database import conninfo
from infra.view_store import DATA, PostgresViewStore, create_indexes, create_tables, physical_name
from projections.base import Table
from projections.catalogue import all_projectors
from projections.order_transactions import ORDER_TRANSACTIONS, OrderTransactionsProjector
from tests.integration.projection_world import fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with fresh_database(database_url) as url, psycopg.connect(conninfo(url)) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(DATA)))
        yield connection


def _indexes(
    conn: psycopg.Connection[tuple[object, ...]], table: Table, generation: int
) -> set[str]:
    name = physical_name(OrderTransactionsProjector.name, table.name, generation)
    rows = conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        (DATA, name),
    ).fetchall()
    return {str(row[0]).split(" USING btree ")[1] for row in rows}


def test_a_rebuilds_tables_have_the_indexes_their_projector_reads_by_from_the_start(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    projector = OrderTransactionsProjector()
    create_tables(conn, projector, 2, indexes=False)
    assert _indexes(conn, ORDER_TRANSACTIONS, 2) == {"(id)", "(payment_collection_id)"}
    create_indexes(conn, projector, 2)
    assert _indexes(conn, ORDER_TRANSACTIONS, 2) == {
        "(id)",
        "(payment_collection_id)",
        "(order_id, created_at)",
    }
    create_tables(conn, projector, 3)  # live tables: every index at once
    assert _indexes(conn, ORDER_TRANSACTIONS, 3) == _indexes(conn, ORDER_TRANSACTIONS, 2)


def test_reading_rows_by_a_column_without_an_index_is_refused(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    projector = OrderTransactionsProjector()
    create_tables(conn, projector, 1)
    store = PostgresViewStore(conn, projector, 1)
    assert store.rows_where(ORDER_TRANSACTIONS.name, "payment_collection_id", []) == []
    assert store.rows_where(ORDER_TRANSACTIONS.name, "id", ["x"]) == []
    with pytest.raises(ValueError, match="no index to read by order_id"):
        store.rows_where(ORDER_TRANSACTIONS.name, "order_id", ["x"])


def test_every_read_by_index_is_one_of_the_tables_indexes() -> None:
    for projector in all_projectors():
        for table in projector.tables:
            assert set(table.read_by) <= set(table.indexes), (projector.name, table.name)


def test_a_column_reads_through_an_index_only_when_it_is_the_index_s_first_column() -> None:
    table = Table(
        "t",
        {"id": "text", "order_id": "uuid", "order": "text", "kind": "text"},
        indexes=("(order_id, kind)", "UNIQUE (kind)"),
        read_by=("(order_id, kind)", "UNIQUE (kind)"),
    )
    assert table.can_read_by("id") and table.can_read_by("order_id")
    assert table.can_read_by("kind")
    assert not table.can_read_by("order")  # a prefix of order_id, not an indexed column
