"""``orderledger customers``: what the ledger holds about a customer, and erasing it."""

import json
from typing import Annotated

import typer

customers_app = typer.Typer(
    help="Customers' personal data: export (GDPR art. 15) and erasure (art. 17).",
    no_args_is_help=True,
)


@customers_app.command("export")
def customers_export(email: str) -> None:
    """Everything held about the customer with this e-mail, as JSON."""
    from infra import cli_parts
    from infra.cli_parts import errors

    with cli_parts.container() as container:
        if container.customers is None:
            errors.print("orderledger: personal-data encryption is off (set PII_MASTER_KEY).")
            raise typer.Exit(2)
        exported = container.customers.export(email)
    typer.echo(json.dumps(exported, indent=2, ensure_ascii=False, default=str))


@customers_app.command("erase")
def customers_erase(
    email: str,
    requested_by: Annotated[
        str, typer.Option("--requested-by", help="Who asked (kept in the Erased event).")
    ] = "cli",
) -> None:
    """Erase the customer's personal data (refused while one of their orders is open)."""
    from domain.errors import DomainError
    from infra import cli_parts
    from infra.cli_parts import errors

    with cli_parts.container() as container:
        if container.customers is None:
            errors.print("orderledger: personal-data encryption is off (set PII_MASTER_KEY).")
            raise typer.Exit(2)
        try:
            erased = container.customers.erase(email, requested_by=requested_by)
        except DomainError as refused:
            errors.print(f"orderledger: {refused}")
            raise typer.Exit(1) from None
    typer.echo(json.dumps(erased, indent=2))


@customers_app.command("new-master-key")
def new_master_key() -> None:
    """Print a fresh PII_MASTER_KEY (32 random bytes, base64)."""
    from infra.pii.crypto import new_master_key_text

    typer.echo(new_master_key_text())


@customers_app.command("seal-existing")
def customers_seal_existing() -> None:
    """Seal the personal fields of events stored in clear before PII_MASTER_KEY was set.

    Rewrites those events (and snapshots) in place, once; safe to run again.
    """
    from infra import cli_parts
    from infra.cli_parts import errors
    from infra.pii.mapper import PersonalDataMapper
    from infra.pii.migrate import seal_existing

    with cli_parts.ledger_and_views() as (database, store):
        mapper = store.ledger.mapper
        if store.personal is None or not isinstance(mapper, PersonalDataMapper):
            errors.print("orderledger: personal-data encryption is off (set PII_MASTER_KEY).")
            raise typer.Exit(2)
        done = seal_existing(database.pool, mapper, store.ledger.name)
    typer.echo(json.dumps({"events": done.events, "snapshots": done.snapshots}))
