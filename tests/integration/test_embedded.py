from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from infra.database import conninfo
from infra.embedded_db import start_embedded_postgres

pytestmark = [pytest.mark.embedded_ok, pytest.mark.integration, pytest.mark.slow]


def test_embedded_server_serves_a_database_that_survives_a_restart(tmp_path: Path) -> None:
    with start_embedded_postgres(tmp_path) as database:
        assert database.pgdata == tmp_path.resolve() / "postgres"
        with psycopg.connect(conninfo(database.url), autocommit=True) as connection:
            name = connection.execute("SELECT current_database()").fetchone()
            connection.execute("CREATE TABLE kept (value int)")
            connection.execute("INSERT INTO kept VALUES (42)")
        assert name == ("orderledger",)

    with (
        start_embedded_postgres(tmp_path) as database,
        psycopg.connect(conninfo(database.url)) as connection,
    ):
        assert connection.execute("SELECT value FROM kept").fetchall() == [(42,)]


def test_stopping_the_embedded_server_closes_it(tmp_path: Path) -> None:
    database = start_embedded_postgres(tmp_path, database="other")
    database.stop()
    database.stop()  # a second stop is harmless

    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(conninfo(database.url), connect_timeout=2)


def test_session_database_accepts_connections(database_url: str) -> None:
    with psycopg.connect(conninfo(database_url)) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
