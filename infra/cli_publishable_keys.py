"""``orderledger publishable-key …``: the storefront keys of the Medusa-compatible API."""

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from infra import cli_parts
from infra.cli_parts import errors

publishable_key_app = typer.Typer(
    help="Publishable API keys (x-publishable-api-key) for Medusa storefronts.",
    no_args_is_help=True,
)
console = Console()


@publishable_key_app.command("create")
def create(
    name: str,
    sales_channel: Annotated[
        list[str],
        typer.Option("--sales-channel", help="A sales channel the key sells through (repeatable)."),
    ],
) -> None:
    """Make a key for the sales channels; the key (pk_…) is printed alone on the last line."""
    with cli_parts.database() as database:
        unknown = [c for c in sales_channel if database.catalog.sales_channel(c) is None]
        if unknown:
            errors.print(f"orderledger: no sales channel {', '.join(unknown)} in the catalog")
            raise typer.Exit(1)
        try:
            key_id, key = database.publishable_keys.create(name, sales_channel)
        except ValueError as error:
            errors.print(f"orderledger: {error}")
            raise typer.Exit(2) from None
    console.print(f"id: {key_id}  sales channels: {', '.join(sales_channel)}", highlight=False)
    print(key)


@publishable_key_app.command("list")
def list_keys() -> None:
    """List publishable keys (never the keys themselves)."""
    with cli_parts.database() as database:
        keys = database.publishable_keys.list()
    table = Table("id", "name", "sales channels", "created", "revoked")
    for key in keys:
        table.add_row(
            key.id,
            key.name,
            ", ".join(key.sales_channel_ids),
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at or ''}",
        )
    console.print(table)


@publishable_key_app.command("revoke")
def revoke(key_id: str) -> None:
    """Revoke a key: storefronts sending it are refused from the next request on."""
    with cli_parts.database() as database:
        revoked = database.publishable_keys.revoke(key_id)
    if not revoked:
        errors.print(f"orderledger: no live publishable key {key_id}")
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")
