"""``orderledger reconcile [--since DATE] [--json]``: the ledger against Stripe.

Exit 0: everything agrees or was a settled fact now recorded (or an orphan hold
released). Exit 1: a difference was reported (nothing was changed for it). Exit 2:
bad input, or another reconcile is running.
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from commands.reconcile.findings import ReconcileReport

console = Console(stderr=True)
out = Console(soft_wrap=True, highlight=False)
errors = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def _since(text: str | None, days: int) -> datetime:
    if text is None:
        return datetime.now(UTC) - timedelta(days=days)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        errors.print(f"orderledger: --since {text!r} is not an ISO 8601 date")
        raise typer.Exit(2) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def reconcile(
    since: Annotated[
        str | None,
        typer.Option(help="From this date (ISO 8601; default RECONCILE_WINDOW_DAYS ago)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Compare every payment collection in the window with Stripe; record settled facts,
    release orphan holds, report the rest (exit 1 if anything is reported)."""
    from infra import cli_parts
    from infra.reconciliation import run_reconciliation

    settings = cli_parts.settings()
    start = _since(since, settings.reconcile_window_days)

    def progress(stage: str, done: int) -> None:
        if not as_json:
            console.print(f"  {stage}: {done}", end="\r", highlight=False)

    with cli_parts.container(settings) as container:
        done = run_reconciliation(container, since=start, progress=progress)
    if done is None:
        errors.print("orderledger: another reconcile is running; try again later")
        raise typer.Exit(2)
    report, run_id = done
    if as_json:
        out.print(json.dumps({"run_id": run_id, **report.as_json()}))
    else:
        _show(report, run_id)
    raise typer.Exit(0 if report.ok else 1)


def _show(report: ReconcileReport, run_id: int) -> None:
    console.print()
    out.print(
        f"reconcile run {run_id} since {report.since.isoformat()}: "
        f"{report.payment_intents} payment intents, {report.collections} collections, "
        f"{report.refunds} refunds, {report.disputes} disputes at Stripe"
    )
    if not report.findings:
        out.print("the ledger and Stripe agree")
        return
    table = Table("kind", "action", "order", "payment intent", "detail")
    for f in report.findings:
        table.add_row(f.kind, f.action, str(f.order_id or "-"), f.payment_intent_id, f.detail)
    out.print(table)
    out.print(f"{len(report.reported)} reported (nothing changed for them)")
