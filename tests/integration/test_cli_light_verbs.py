"""Light CLI verbs open only what they use: keys touch no event store, status rebuilds no view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from click.testing import Result
from typer.testing import CliRunner

from infra.cli import app
from infra.view_store import VIEWS
from tests.databases import fresh_database

pytestmark = pytest.mark.integration

# Neither is listening: a verb that reached Stripe or Redis would fail.
NOWHERE = {"REDIS_URL": "redis://127.0.0.1:9/0", "STRIPE_API_BASE": "http://127.0.0.1:9"}


@pytest.fixture
def empty_database(database_url: str) -> Iterator[str]:
    with fresh_database(database_url, "orderledger_light") as url:
        yield url


def orderledger(url: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"DATABASE_URL": url, **NOWHERE})


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        ).fetchall()
    return {row[0] for row in rows}


def generations(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(f"SELECT projection, generation FROM {VIEWS}.registry").fetchall()
    return dict(rows)


def test_an_admin_key_is_made_without_opening_the_event_store_or_the_views(
    empty_database: str,
) -> None:
    made = orderledger(empty_database, "admin", "create-key", "ops")
    assert made.exit_code == 0, made.output
    assert orderledger(empty_database, "publishable-key", "list").exit_code == 0
    made_tables = tables(empty_database)
    assert not any(t.endswith("orderledger_events") for t in made_tables), made_tables
    assert not any(t.startswith(f"{VIEWS}.") for t in made_tables), made_tables


def test_db_init_makes_the_views_and_status_rebuilds_none_of_a_changed_shape(
    empty_database: str,
) -> None:
    init = orderledger(empty_database, "db", "init")
    assert init.exit_code == 0, init.output
    assert any(t.endswith("orderledger_events") for t in tables(empty_database))
    before = generations(empty_database)
    assert before, "db init registers every view"
    name = sorted(before)[0]
    with psycopg.connect(empty_database) as conn:  # as if the view's code changed shape
        conn.execute(f"UPDATE {VIEWS}.registry SET spec = 'old' WHERE projection = %s", (name,))
    status = orderledger(empty_database, "projections", "status")
    assert status.exit_code == 0, status.output
    again = orderledger(empty_database, "db", "init")
    assert again.exit_code == 0, again.output
    assert f"projection {name} changed shape" in again.stdout
    assert generations(empty_database) == before
