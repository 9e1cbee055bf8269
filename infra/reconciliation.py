"""Running reconcile: one runner at a time, each run kept, differences alerted and counted.

The CLI and the worker's hourly duty both call ``run_reconciliation``. A PostgreSQL
session advisory lock makes a second runner (another worker, a CLI run during the
duty) step aside instead of recording the same facts twice at once; the facts are
idempotent anyway, the lock saves Stripe the duplicate reads.
"""

import json
import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from prometheus_client.core import GaugeMetricFamily

from commands.reconcile.findings import ReconcileReport
from commands.reconcile.run import Progress, ReconcilePolicy, reconcile
from infra.pg import Pool
from infra.schema import HISTORY_KEPT_DAYS, SCHEMA
from infra.view_store import VIEWS

if TYPE_CHECKING:
    from infra.container import Container

log = logging.getLogger(__name__)

RUNS = f"{SCHEMA}.reconciliation_runs"
LOCK = "hashtext('orderledger-reconcile')"
SHOWN_IN_MAIL = 20


class PlacedOrders:
    """The ledger's side of the window, from the admin order view."""

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def placed_since(self, since: datetime) -> Iterable[tuple[UUID, str]]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT order_id, payment_intent_id FROM {VIEWS}.admin_orders "
                "WHERE placed_at >= %s",
                (since,),
            ).fetchall()
        return [(UUID(str(row[0])), str(row[1])) for row in rows]


class ReconciliationRuns:
    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    def save(self, report: ReconcileReport) -> int:
        with self._pool.connection() as conn:
            row = conn.execute(
                f"INSERT INTO {RUNS} (started_at, finished_at, since, ok, report) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (
                    report.started_at,
                    report.finished_at or report.started_at,
                    report.since,
                    report.ok,
                    json.dumps(report.as_json()),
                ),
            ).fetchone()
            assert row is not None
            # Runs older than the history kept go (an hourly duty would keep them forever).
            conn.execute(
                f"DELETE FROM {RUNS} WHERE finished_at < now() - make_interval(days => %s) "
                "AND id < %s",
                (HISTORY_KEPT_DAYS, row[0]),
            )
        return int(row[0])

    def latest(self) -> dict[str, Any] | None:
        """The last run's report (with its id), or None before the first."""
        with self._pool.connection() as conn:
            row = conn.execute(f"SELECT id, report FROM {RUNS} ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        report = row[1] if isinstance(row[1], dict) else json.loads(row[1])
        return {"id": int(row[0]), **report}


class FindingsGauge:
    """``orderledger_reconciliation_findings{kind,action}``: the last run's findings."""

    def __init__(self, runs: ReconciliationRuns) -> None:
        self._runs = runs

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "orderledger_reconciliation_findings",
            "Findings of the last reconcile run with Stripe, by kind and action.",
            labels=["kind", "action"],
        )
        try:
            latest = self._runs.latest()
        except Exception as error:  # a scrape must not fail because the database is away
            log.warning("reconciliation findings unavailable: %s", error)
            latest = None
        counts: dict[tuple[str, str], int] = {}
        for finding in (latest or {}).get("findings", []):
            key = (str(finding["kind"]), str(finding["action"]))
            counts[key] = counts.get(key, 0) + 1
        for (kind, action), n in sorted(counts.items()):
            gauge.add_metric([kind, action], n)
        yield gauge


def run_reconciliation(
    container: "Container", *, since: datetime, progress: Progress | None = None
) -> tuple[ReconcileReport, int] | None:
    """Reconcile, save the run and alert on what is reported; None if another run holds it."""
    services = container.services
    records = services.stripe_records
    if records is None:
        raise RuntimeError("Stripe is not configured for reconciliation.")
    settings = container.settings
    policy = ReconcilePolicy(
        orphan_age=timedelta(seconds=settings.reconcile_orphan_age_seconds), concurrency=8
    )
    with container.pool.connection() as lock_conn:
        got = lock_conn.execute(f"SELECT pg_try_advisory_lock({LOCK})").fetchone()
        if not got or not got[0]:
            return None
        try:
            report = reconcile(
                services,
                records,
                PlacedOrders(container.pool),
                since=since,
                policy=policy,
                progress=progress,
            )
            run_id = ReconciliationRuns(container.pool).save(report)
        finally:
            lock_conn.execute(f"SELECT pg_advisory_unlock({LOCK})")
    if not report.ok:
        _alert(container, report, run_id)
    return report, run_id


def _alert(container: "Container", report: ReconcileReport, run_id: int) -> None:
    reported = report.reported
    lines = [
        f"- {f.kind}: order {f.order_id or '-'} / {f.payment_intent_id}: {f.detail} "
        f"(ledger {json.dumps(f.ledger)}; Stripe {json.dumps(f.stripe)})"
        for f in reported[:SHOWN_IN_MAIL]
    ]
    more = len(reported) - SHOWN_IN_MAIL
    text = (
        f"Reconcile run {run_id} (since {report.since.isoformat()}) found "
        f"{len(reported)} difference(s) with Stripe that it did not change:\n"
        + "\n".join(lines)
        + (f"\n… and {more} more: GET /admin/reconciliation" if more > 0 else "")
    )
    subject = f"Reconciliation: {len(reported)} difference(s) with Stripe"
    container.services.alerts.alert(subject, text)
    ops_email = container.settings.ops_email
    if ops_email:
        _queue_ops_mail(container.pool, ops_email, subject, text, run_id, report.finished_at)


def _queue_ops_mail(
    pool: Pool, to: str, subject: str, text: str, run_id: int, now: datetime | None
) -> None:
    """Into the notifications outbox; the mail sender delivers it (once per run)."""
    key = f"reconciliation-{run_id}"
    html = "<pre>" + text.replace("&", "&amp;").replace("<", "&lt;") + "</pre>"
    with pool.connection() as conn:
        conn.execute(
            f"INSERT INTO {SCHEMA}.notifications (id, notification_id, kind, recipient, subject, "
            "text_body, html_body, idempotency_key, next_attempt_at, created_at, updated_at) "
            "VALUES (%s, 0, 'reconciliation_alert', %s, %s, %s, %s, %s, "
            "coalesce(%s, now()), coalesce(%s, now()), coalesce(%s, now())) "
            "ON CONFLICT (id) DO NOTHING",
            (key, to, subject, text, html, key, now, now, now),
        )


def reconcile_on_schedule(container: "Container", stop: threading.Event) -> None:
    """The worker's duty: reconcile every ``RECONCILE_EVERY`` seconds (the first after one
    period, so a worker restarting in a loop does not hammer Stripe)."""
    settings = container.settings
    while not stop.wait(settings.reconcile_every):
        since = container.services.clock() - timedelta(days=settings.reconcile_window_days)
        try:
            done = run_reconciliation(container, since=since)
        except Exception:
            log.exception("reconcile failed; next attempt in %ss", settings.reconcile_every)
            continue
        if done is None:
            log.info("reconcile skipped: another runner holds the lock")
            continue
        report, run_id = done
        log.info(
            "reconcile run %s: %s payment intents, %s collections, %s findings (%s reported)",
            run_id,
            report.payment_intents,
            report.collections,
            len(report.findings),
            len(report.reported),
        )
