"""The console's long tasks, rebuild a view and audit verify, run beside the server.

Each runs in a thread of the serving process and writes its progress and result to
``console_jobs``, so any process can show them and the overview keeps the last verify.
The work itself is the CLI's: ``ProjectionRuntime.rebuild`` and ``verify_store``.
"""

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from psycopg.types.json import Jsonb

from infra.audit_views import PostgresTransactionsView
from infra.container import Container
from infra.schema import HISTORY_KEPT_DAYS, SCHEMA
from queries.audit.findings import Violation
from queries.audit.verify import verify_store

log = logging.getLogger(__name__)

SHOWN_FINDINGS = 100
PROGRESS_EVERY = 0.25  # seconds between two progress writes


def finding(violation: Violation) -> dict[str, Any]:
    """A violation as a task's result lists it."""
    return {
        "order_id": str(violation.order_id) if violation.order_id else None,
        "payment_collection_id": str(violation.payment_collection_id),
        "rule": violation.rule,
        "detail": violation.detail,
        "events": list(violation.events),
    }


def record_verify(pool: Any, result: dict[str, Any], *, by: str) -> str:
    """A verify run elsewhere (``orderledger audit verify``), kept as a finished task so
    the overview's "last audit verify" is the last one, wherever it ran."""
    job_id = secrets.token_hex(8)
    head = int(result.get("head") or 0)
    with pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {SCHEMA}.console_jobs (id, kind, target, status, position, head, "
            "result, started_by, finished_at) VALUES (%s, 'verify', 'audit', 'done', %s, %s, "
            "%s, %s, now())",
            (job_id, head, head, Jsonb(result), by),
        )
        forget_old_jobs(conn)
    return job_id


def forget_old_jobs(conn: Any) -> None:
    """Tasks older than the history kept go (one still "running" then died long ago);
    each kind's latest stays."""
    conn.execute(
        f"DELETE FROM {SCHEMA}.console_jobs j "
        "WHERE started_at < now() - make_interval(days => %s) "
        f"AND started_at < (SELECT max(started_at) FROM {SCHEMA}.console_jobs l "
        "WHERE l.kind = j.kind)",
        (HISTORY_KEPT_DAYS,),
    )


class ConsoleJobs:
    def __init__(self, container: Container) -> None:
        self._container = container
        self._pool = container.pool

    def _insert(self, kind: str, target: str, by: str) -> str:
        job_id = secrets.token_hex(8)
        with self._pool.connection() as conn:
            conn.execute(
                f"INSERT INTO {SCHEMA}.console_jobs (id, kind, target, started_by) "
                "VALUES (%s, %s, %s, %s)",
                (job_id, kind, target, by),
            )
            forget_old_jobs(conn)
        return job_id

    def _progress(self, job_id: str) -> Callable[[int, int], None]:
        last = 0.0

        def report(position: int, head: int) -> None:
            nonlocal last
            if time.monotonic() - last < PROGRESS_EVERY:
                return
            last = time.monotonic()
            with self._pool.connection() as conn:
                conn.execute(
                    f"UPDATE {SCHEMA}.console_jobs SET position = %s, head = %s, updated_at = now() "
                    "WHERE id = %s",
                    (position, head, job_id),
                )

        return report

    def _finish(self, job_id: str, status: str, result: dict[str, Any]) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                f"UPDATE {SCHEMA}.console_jobs SET status = %s, result = %s, "
                "position = greatest(position, coalesce((%s::jsonb->>'head')::bigint, position)), "
                "head = greatest(head, coalesce((%s::jsonb->>'head')::bigint, head)), "
                "updated_at = now(), finished_at = now() WHERE id = %s",
                (status, Jsonb(result), json.dumps(result), json.dumps(result), job_id),
            )

    def _run(self, job_id: str, work: Callable[[], tuple[str, dict[str, Any]]]) -> None:
        def body() -> None:
            try:
                status, result = work()
            except Exception as error:  # shown on the page; the log has the trace
                log.exception("console job %s failed", job_id)
                status, result = "failed", {"error": type(error).__name__, "detail": str(error)}
            try:
                self._finish(job_id, status, result)
            except Exception:
                log.exception("console job %s: result not recorded", job_id)

        threading.Thread(target=body, name=f"console-job-{job_id}", daemon=True).start()

    def rebuild(self, name: str, *, by: str) -> str:
        """Start rebuilding one view (``name`` must be a projection's); returns the job id."""
        runtime = self._container.projections
        if name not in runtime.projectors:
            raise KeyError(name)
        job_id = self._insert("rebuild", name, by)
        progress = self._progress(job_id)

        def work() -> tuple[str, dict[str, Any]]:
            generation = runtime.rebuild(name, progress)
            head = self._container.ledger.head
            return "done", {"ok": True, "generation": generation, "head": head}

        self._run(job_id, work)
        return job_id

    def verify(self, *, by: str) -> str:
        """Start ``audit verify``; its findings (the first hundred) land in the result."""
        job_id = self._insert("verify", "audit", by)
        progress = self._progress(job_id)

        def work() -> tuple[str, dict[str, Any]]:
            found: list[dict[str, Any]] = []

            def on_violation(violation: Violation) -> None:
                if len(found) < SHOWN_FINDINGS:
                    found.append(finding(violation))

            report = verify_store(
                self._container.ledger,
                PostgresTransactionsView(self._pool),
                now=datetime.now(UTC),
                on_violation=on_violation,
                progress=progress,
            )
            return "done", {**report.as_dict(), "findings": found}

        self._run(job_id, work)
        return job_id

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self._pool.connection() as conn:
            row = conn.execute(
                "SELECT id, kind, target, status, position, head, result, started_by, "
                f"started_at, finished_at, updated_at FROM {SCHEMA}.console_jobs WHERE id = %s",
                (job_id,),
            ).fetchone()
        if row is None:
            return None
        keys = ("id", "kind", "target", "status", "position", "head", "result", "started_by")
        times = {"started_at": row[8], "finished_at": row[9], "updated_at": row[10]}
        return {**dict(zip(keys, row, strict=False)), **times}
