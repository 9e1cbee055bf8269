"""Reconcile runs and console tasks are kept for ``HISTORY_KEPT_DAYS``, the latest always.

Given runs and tasks older than the history kept, When a new one is recorded, Then the
old ones are gone, the recent ones stay, and the latest of each kind is never purged.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from commands.reconcile.findings import ReconcileReport
from infra.console.jobs import record_verify
from infra.pg import Pool, open_pool
from infra.reconciliation import RUNS, ReconciliationRuns
from infra.schema import HISTORY_KEPT_DAYS, SCHEMA, create_tables
from tests.databases import fresh_database


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    with fresh_database(database_url, "orderledger_history") as url:
        made = open_pool(url)
        create_tables(made)
        try:
            yield made
        finally:
            made.close()


def a_report(days_ago: float) -> ReconcileReport:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return ReconcileReport(started_at=at, since=at - timedelta(days=1), finished_at=at)


def run_ages(pool: Pool) -> list[int]:
    with pool.connection() as conn:
        rows = conn.execute(
            f"SELECT extract(day FROM now() - finished_at)::int FROM {RUNS} ORDER BY id"
        ).fetchall()
    return [int(row[0]) for row in rows]


def test_old_reconcile_runs_go_when_a_new_one_is_kept(pool: Pool) -> None:
    runs = ReconciliationRuns(pool)
    runs.save(a_report(HISTORY_KEPT_DAYS + 30))
    assert run_ages(pool) == [HISTORY_KEPT_DAYS + 30]  # the latest stays, however old
    runs.save(a_report(HISTORY_KEPT_DAYS - 1))
    runs.save(a_report(0))
    assert run_ages(pool) == [HISTORY_KEPT_DAYS - 1, 0]


def test_old_console_tasks_go_when_a_new_one_is_recorded(pool: Pool) -> None:
    def ages() -> list[tuple[str, int]]:
        with pool.connection() as conn:
            rows = conn.execute(
                f"SELECT kind, extract(day FROM now() - started_at)::int "
                f"FROM {SCHEMA}.console_jobs ORDER BY started_at"
            ).fetchall()
        return [(str(kind), int(age)) for kind, age in rows]

    old = record_verify(pool, {"head": 1}, by="test")
    rebuild_id = "rebuild-old"
    with pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {SCHEMA}.console_jobs (id, kind, target, started_by, started_at) "
            "VALUES (%s, 'rebuild', 'storefront_orders', 'test', now() - interval '200 days')",
            (rebuild_id,),
        )
        conn.execute(
            f"UPDATE {SCHEMA}.console_jobs SET started_at = now() - interval '100 days' "
            "WHERE id = %s",
            (old,),
        )
    record_verify(pool, {"head": 2}, by="test")
    # The old verify is gone; the old rebuild is its kind's latest and stays.
    assert ages() == [("rebuild", 200), ("verify", 0)]
