"""The one way a test gets a database of its own: created empty, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from infra.database import conninfo, with_database


@contextmanager
def fresh_database(server_url: str, prefix: str = "orderledger_test") -> Iterator[str]:
    """URL of a new, empty, uniquely named database on the server behind ``server_url``."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(server_url), autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(conninfo(server_url), autocommit=True) as connection:
            # FORCE: pools a test left open must not keep the database alive.
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
