"""``orderledger audit …``: replay, verify and export the financial history."""

import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from domain.ids import order_id_for
from domain.money import Money
from queries.audit.replay import OrderHistory, history_json

if TYPE_CHECKING:
    from infra.container import Container
    from queries.audit.verify import VerifyReport, Violation

audit_app = typer.Typer(
    help="Audit the financial history, replayed from the events.", no_args_is_help=True
)

console = Console()
# Messages go out as given: one line however long (scripts grep them), no markup.
errors = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
SHOWN_IN_JSON = 1_000  # violations listed in `verify --json` (all are counted)


def _container() -> AbstractContextManager["Container"]:
    from infra import cli_parts

    return cli_parts.container()


def _instant(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        errors.print(f"orderledger: {option} {text!r} is not an ISO 8601 date and time")
        raise typer.Exit(2) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _order_id(text: str) -> UUID:
    if text.startswith("pi_"):
        return order_id_for(text)
    try:
        return UUID(text)
    except ValueError:
        errors.print(f"orderledger: {text!r} is neither an order id nor a PaymentIntent id")
        raise typer.Exit(2) from None


# --- replay ---------------------------------------------------------------------------------


@audit_app.command("replay")
def replay(
    order: Annotated[str, typer.Argument(help="Order id (or its PaymentIntent id, pi_…).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The state at this instant (ISO 8601, UTC).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """The order's money movements with running totals and causes, from its events."""
    from queries.audit.replay import replay_order
    from queries.audit.source import order_events

    order_id = _order_id(order)
    at = _instant(as_of, "--as-of")
    with _container() as container:
        history = replay_order(order_id, *order_events(container.ledger, order_id), as_of=at)
    if history is None:
        when = f" as of {at.isoformat()}" if at else ""
        errors.print(f"orderledger: no order {order_id}{when}")
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(history_json(history), indent=2))
        return
    # Piped or captured output is not cut to 80 columns (a terminal wraps cells instead).
    screen = console if console.is_terminal else Console(width=200)
    screen.print(_history_table(history))
    totals = history.totals
    cur = history.currency
    screen.print(
        f"order {history.order_status}, payment {history.payment_status}; "
        f"order total {_major(totals.order_total, cur)}, collection {_major(totals.amount, cur)}, "
        f"outstanding {_major(totals.outstanding, cur)}",
        highlight=False,
    )


def _major(amount: int, currency: str) -> str:
    return str(Money(amount, currency)) if currency else str(amount)


def _history_table(history: OrderHistory) -> Table:
    cur = history.currency
    when = f" as of {history.as_of.isoformat()}" if history.as_of else ""
    table = Table(title=f"Order {history.order_id}{when}", title_justify="left")
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("event")
    table.add_column("movement")
    for name in ("amount", "authorized", "captured", "refunded", "outstanding"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("reference")
    table.add_column("cause")
    table.add_column("detail")
    for entry in history.entries:
        movement = entry.movement
        running = entry.running
        table.add_row(
            f"{entry.at.astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            f"{entry.event.replace('PaymentCollection.', 'Payment.')} v{entry.version}",
            movement.kind if movement else "",
            f"{_major(movement.amount, cur)}" if movement else "",
            Money(running.authorized, cur).to_major() if cur else "",
            Money(running.captured, cur).to_major() if cur else "",
            Money(running.refunded, cur).to_major() if cur else "",
            Money(running.outstanding, cur).to_major() if cur else "",
            movement.reference if movement else "",
            entry.cause,
            entry.detail,
            style="bold" if movement else None,
        )
    return table


# --- verify ---------------------------------------------------------------------------------


@audit_app.command("verify")
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="The summary as JSON.")] = False,
) -> None:
    """Replay every order and payment in the store, streaming, and check the invariants.

    Exit code 1 if anything is wrong (each violation is printed), 0 if not.
    """
    from infra.audit_views import PostgresTransactionsView
    from infra.console.jobs import SHOWN_FINDINGS, finding, record_verify
    from queries.audit.verify import verify_store

    shown: list[dict[str, Any]] = []
    for_console: list[dict[str, Any]] = []  # the console's overview shows the last verify
    screen = Console(stderr=True) if as_json else console

    with _container() as container, _progress(screen) as progress:
        task = progress.add_task("verifying", total=None, rate="-")
        started = time.monotonic()

        def show(position: int, head: int) -> None:
            rate = position / max(time.monotonic() - started, 1e-6)
            progress.update(task, completed=position, total=head, rate=f"{rate:,.0f}")

        def found(violation: "Violation") -> None:
            if len(for_console) < SHOWN_FINDINGS:
                for_console.append(finding(violation))
            if as_json:
                if len(shown) < SHOWN_IN_JSON:
                    shown.append(_violation_json(violation))
            else:
                progress.console.print(
                    f"VIOLATION {violation}", markup=False, highlight=False, soft_wrap=True
                )

        report = verify_store(
            container.ledger,
            PostgresTransactionsView(container.pool),
            now=datetime.now(UTC),
            on_violation=found,
            progress=show,
        )
        record_verify(container.pool, {**report.as_dict(), "findings": for_console}, by="cli")
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "violation_list": shown}, indent=2))
    else:
        verdict = "no violations" if report.ok else f"{report.violation_count:,} violation(s)"
        console.print(
            f"{report.events:,} money events up to position {report.head:,}; "
            f"{report.orders:,} orders, {report.collections:,} collections; "
            f"{_view_note(report)}; {verdict}",
            soft_wrap=True,
            highlight=False,
        )
        console.print(_summary_table(report))
    if not report.ok:
        raise typer.Exit(1)


@contextmanager
def _progress(screen: Console) -> Iterator[Progress]:
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]:>9} ev/s"),
        TimeRemainingColumn(),
        console=screen,
        transient=True,
    ) as progress:
        yield progress


def _violation_json(violation: "Violation") -> dict[str, Any]:
    return {
        "order_id": str(violation.order_id) if violation.order_id else None,
        "payment_collection_id": str(violation.payment_collection_id),
        "rule": violation.rule,
        "detail": violation.detail,
        "events": list(violation.events),
    }


def _view_note(report: "VerifyReport") -> str:
    if report.view_position is None:
        return "no order_transactions view to check"
    return f"order_transactions view checked at its position {report.view_position:,}"


def _summary_table(report: "VerifyReport") -> Table:
    table = Table(title="money movements by currency and kind", title_justify="left")
    table.add_column("currency")
    table.add_column("kind")
    table.add_column("count", justify="right")
    table.add_column("sum", justify="right")
    for currency, kinds in report.summary.items():
        for kind, figures in kinds.items():
            table.add_row(
                currency,
                kind,
                f"{figures['count']:,}",
                _major(figures["amount"], currency),
            )
    for rule, count in sorted(report.violations.items()):
        table.add_row("", f"violation: {rule}", f"{count:,}", "", style="red")
    return table


# --- export ---------------------------------------------------------------------------------


@audit_app.command("export")
def export(
    to: Annotated[str, typer.Option("--to", help="Where: s3://BUCKET/PREFIX.")],
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only movements at or after this instant (ISO 8601)."),
    ] = None,
    part_size: Annotated[
        int, typer.Option("--part-size", min=1, help="Movements per JSON Lines file.")
    ] = 100_000,
) -> None:
    """Money movements as JSON Lines plus a manifest, to S3-compatible storage (idempotent)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.object_storage import S3ObjectStorage, parse_s3_url, s3_client
    from queries.audit.export import export_movements

    try:
        bucket, prefix = parse_s3_url(to)
    except ValueError as error:
        errors.print(f"orderledger: --to: {error}")
        raise typer.Exit(2) from None
    start = _instant(since, "--since")
    with _container() as container:
        storage = S3ObjectStorage(s3_client(container.settings), bucket)
        try:
            manifest = export_movements(
                container.ledger, storage, prefix=prefix, since=start, part_size=part_size
            )
        except (BotoCoreError, ClientError) as error:
            errors.print(f"orderledger: the export to {to} failed: {error}")
            raise typer.Exit(1) from None
    for file in manifest.files:
        console.print(f"s3://{bucket}/{file.key}  {file.movements:,} movements", highlight=False)
    console.print(
        f"manifest s3://{bucket}/{manifest.key}: {manifest.movements:,} movements "
        f"in {len(manifest.files)} file(s)",
        highlight=False,
    )
