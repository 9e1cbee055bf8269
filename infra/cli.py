"""The ``orderledger`` command line."""

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from infra import cli_parts
from infra.cli_audit import audit_app
from infra.cli_customers import customers_app
from infra.cli_files import files_app
from infra.cli_parts import errors
from infra.cli_publishable_keys import publishable_key_app
from infra.cli_reconcile import reconcile
from infra.settings import Settings

app = typer.Typer(
    help="orderledger: an event-sourced order ledger for online shops.", no_args_is_help=True
)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
admin_app = typer.Typer(help="Admin API keys.", no_args_is_help=True)
catalog_app = typer.Typer(help="The catalog.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(catalog_app, name="catalog")
projections_app = typer.Typer(help="Read models (views).", no_args_is_help=True)
app.add_typer(projections_app, name="projections")
app.add_typer(audit_app, name="audit")
app.add_typer(publishable_key_app, name="publishable-key")
app.add_typer(files_app, name="files")
app.add_typer(customers_app, name="customers")
app.command("reconcile")(reconcile)

console = Console()
DEV_STRIPE_PORT = 8420  # localstripe's usual port, when free


def _settings() -> Settings:
    return cli_parts.settings()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes (each with its own pools); needs Redis.")
    ] = 1,
) -> None:
    """Serve the HTTP API."""
    if workers > 1:
        _serve_processes(host, port, workers)
        return
    _serve(host, port, run_worker=False)


def _serve_processes(host: str, port: int, workers: int) -> None:
    """``workers`` API processes on one port (``infra.api_processes``)."""
    import uvicorn

    from infra.api_processes import refusal
    from infra.web.client_identity import UVICORN_OPTIONS

    why_not = refusal(_settings(), workers)
    if why_not is not None:
        errors.print(f"orderledger: {why_not}")
        raise typer.Exit(2)
    uvicorn.run(
        "infra.api_processes:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        **UVICORN_OPTIONS,
    )


def _serve(
    host: str, port: int, *, run_worker: bool, dev: bool = False, emulator: str | None = None
) -> None:
    import uvicorn

    from infra.app import create_app
    from infra.log_format import BannerServer, choose_format, configure
    from infra.web.client_identity import UVICORN_OPTIONS

    settings = _settings()
    configure(choose_format(settings.log_format, dev=dev, stream=sys.stderr))
    config = uvicorn.Config(
        create_app(settings, run_worker=run_worker),
        host=host,
        port=port,
        log_config=None,
        access_log=False,  # one line per request comes from our own middleware
        # Forwarded headers are judged by TRUSTED_PROXIES, not uvicorn's loopback default.
        **UVICORN_OPTIONS,
    )
    server = BannerServer(config, stripe_emulator=emulator) if dev else uvicorn.Server(config)
    server.run()


@app.command()
def worker() -> None:
    """Run the projectors (and the rest of the background work) until SIGTERM or Ctrl-C."""
    import signal

    from infra.log_format import choose_format, configure
    from infra.worker import Worker

    settings = _settings()
    configure(choose_format(settings.log_format, dev=False, stream=sys.stderr))
    with cli_parts.container(settings) as container:
        running = Worker(container)
        signal.signal(signal.SIGTERM, lambda *_: running.stop())
        running.start()
        try:
            running.wait()
        except KeyboardInterrupt:
            pass
        finally:
            running.stop()


@app.command()
def dev(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Everything on one machine with embedded defaults (what `make run` runs).

    No DATABASE_URL: an embedded PostgreSQL under DATA_DIR. No STRIPE_API_BASE: a
    local Stripe emulator on 127.0.0.1 (when localstripe is installed).
    """
    from infra.pii.setup import ensure_dev_master_key

    ensure_dev_master_key(_settings().data_dir)
    emulator = None
    if not os.environ.get("STRIPE_API_BASE"):
        try:
            from infra.stripe_emulator import start_emulator

            emulator = start_emulator(port=DEV_STRIPE_PORT)
            os.environ["STRIPE_API_BASE"] = emulator.url
            os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_dev_local")
            errors.print(f"Stripe emulator on {emulator.url}")
        except (ImportError, RuntimeError) as error:
            errors.print(f"No Stripe emulator ({error}); Stripe calls go to STRIPE_API_BASE.")
    try:
        _serve(host, port, run_worker=True, dev=True, emulator=emulator.url if emulator else None)
    finally:
        if emulator is not None:
            emulator.stop()


@db_app.command("init")
def db_init() -> None:
    """Create the event store, the views and the other tables (safe to run again).

    A view whose shape changed is named; the next API or worker start rebuilds it (or
    ``orderledger projections rebuild NAME``)."""
    with cli_parts.ledger_and_views() as (_, store):
        for stale in store.stale:
            console.print(f"projection {stale} changed shape: it is rebuilt at the next start")
    console.print("database ready")


@admin_app.command("create-key")
def create_key(name: str) -> None:
    """Make an admin API key; it is printed once and stored only as a hash."""
    with cli_parts.database() as database:
        key_id, key = database.admin_keys.create(name)
    console.print(f"id: {key_id}", highlight=False)
    print(key)


@admin_app.command("list-keys")
def list_keys() -> None:
    """List admin keys (never the keys themselves)."""
    with cli_parts.database() as database:
        keys = database.admin_keys.list()
    table = Table("id", "name", "created", "revoked")
    for key in keys:
        table.add_row(
            key.id, key.name, f"{key.created_at:%Y-%m-%d %H:%M}", f"{key.revoked_at or ''}"
        )
    console.print(table)


@admin_app.command("revoke-key")
def revoke_key(key_id: str) -> None:
    """Revoke an admin key; it is refused from the next request on."""
    with cli_parts.database() as database:
        revoked = database.admin_keys.revoke(key_id)
    if not revoked:
        errors.print(f"orderledger: no live key {key_id}")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")


@catalog_app.command("import")
def catalog_import(file: Path) -> None:
    """Load or update the catalog from a JSON file (API.md's format)."""
    from commands.catalog import CatalogFile
    from commands.catalog_import import import_catalog
    from domain.errors import DomainError
    from infra.container import utc_now

    try:
        catalog = CatalogFile.model_validate_json(file.read_bytes())
    except OSError as error:
        errors.print(f"orderledger: cannot read {file}: {error.strerror}")
        raise typer.Exit(2) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = f"{where}: {first['msg']}" if where else first["msg"]
        errors.print(f"orderledger: {file} is not a valid catalog: {reason}")
        raise typer.Exit(2) from None
    with cli_parts.ledger_and_views() as (database, store):
        try:
            result = import_catalog(
                catalog, ledger=store.ledger, store=database.catalog, now=utc_now(), by="cli"
            )
        except DomainError as error:
            errors.print(f"orderledger: {error}")
            raise typer.Exit(1) from None
    console.print_json(json.dumps(result.__dict__))


@projections_app.command("list")
def projections_list() -> None:
    """Name every projection."""
    from projections.catalogue import all_projectors

    for projector in all_projectors():
        console.print(projector.name)


@projections_app.command("status")
def projections_status() -> None:
    """Position, head of the log and lag of every projection."""
    with cli_parts.ledger_and_views() as (_, store):
        statuses = store.projections.status()
    table = Table("projection", "generation", "position", "head", "lag (events)", "lag (s)")
    for s in statuses:
        table.add_row(
            s.name,
            str(s.generation),
            str(s.position),
            str(s.head),
            str(s.lag_events),
            f"{s.lag_seconds:.1f}",
        )
    console.print(table)


@projections_app.command("rebuild")
def projections_rebuild(
    name: Annotated[str | None, typer.Argument(help="The projection to rebuild.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Rebuild every projection.")] = False,
) -> None:
    """Rebuild from the event store beside the live view, then switch readers at once."""
    from rich.progress import (
        BarColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from projections.catalogue import all_projectors

    known = [p.name for p in all_projectors()]
    if all_ == (name is not None):
        errors.print("orderledger: name one projection or pass --all")
        raise typer.Exit(2)
    if name is not None and name not in known:
        errors.print(f"orderledger: no projection {name!r} (known: {', '.join(known)})")
        raise typer.Exit(2)
    with (
        cli_parts.ledger_and_views() as (_, store),
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]:>9} ev/s"),
            TimeRemainingColumn(),
            console=console,
        ) as bar,
    ):
        # --all rebuilds every view in one pass over the log (each event read once).
        names = [name] if name else known
        task = bar.add_task(", ".join(names) if name else "all views", total=None, rate="-")
        started = time.monotonic()

        def show(position: int, head: int) -> None:
            elapsed = max(time.monotonic() - started, 1e-6)
            bar.update(task, completed=position, total=head, rate=f"{position / elapsed:,.0f}")

        store.projections.rebuild_many(names, progress=show)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
