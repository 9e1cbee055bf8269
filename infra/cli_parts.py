"""The one way the CLI's verbs get their parts: as deep into the bootstrap as each needs.

- ``database()``: the pool and tables (admin keys, publishable keys): no event store,
  no view made or rebuilt, no Stripe, no Redis.
- ``ledger_and_views()``: also the event store and the views' tables, no view rebuilt
  (``db init``, ``projections status``, ``projections rebuild``).
- ``container()``: everything ``infra.container.build_container`` builds.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from infra.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from infra.container import Container, Database, LedgerAndViews

# Messages go out as given: one line however long (scripts grep them), no markup.
errors = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)


def settings() -> Settings:
    """The settings, or exit 2 with the reason on one line."""
    try:
        return load_settings()
    except SettingsError as error:
        errors.print(f"orderledger: {error}")
        raise typer.Exit(2) from None


@contextmanager
def database() -> Iterator["Database"]:
    from infra.container import open_database

    opened = open_database(settings())
    try:
        yield opened
    finally:
        opened.close()


@contextmanager
def ledger_and_views() -> Iterator[tuple["Database", "LedgerAndViews"]]:
    from infra.container import open_ledger_and_views

    with database() as opened:
        store = open_ledger_and_views(opened)
        try:
            yield opened, store
        finally:
            store.close()


@contextmanager
def container(loaded: Settings | None = None) -> Iterator["Container"]:
    from infra.container import build_container

    built = build_container(loaded if loaded is not None else settings())
    try:
        yield built
    finally:
        built.close()
