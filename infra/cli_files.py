"""``orderledger files``: the file service's lifecycle rule, run by hand or from cron."""

import json
from typing import Annotated

import typer

files_app = typer.Typer(
    help="Files (uploads, product images, review photos).", no_args_is_help=True
)


@files_app.command("sweep")
def files_sweep(
    grace_seconds: Annotated[
        int | None,
        typer.Option(help="Delete files unused this long (default FILES_SWEEP_GRACE_SECONDS)."),
    ] = None,
) -> None:
    """Delete the objects no product or review uses (the worker does this periodically)."""
    from datetime import timedelta

    from infra import cli_parts
    from infra.file_sweeper import sweep_files

    with cli_parts.container() as container:
        # Decide on a view that has seen every event so far (no worker may be running).
        container.projections.catch_up("stored_files")
        swept = sweep_files(
            container, grace=None if grace_seconds is None else timedelta(seconds=grace_seconds)
        )
    typer.echo(json.dumps({"files": swept.files, "abandoned_uploads": swept.abandoned_uploads}))
