"""Fixtures of the command-line tests: the ``orderledger`` CLI against the session's
database, and the application's own adapters over that same database."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from click.testing import Result
from typer.testing import CliRunner

from infra.cli import app
from infra.container import Container, build_container
from infra.settings import Settings


@pytest.fixture(scope="module")
def container(database_url: str) -> Iterator[Container]:
    """The same database the CLI writes to, read through the application's own adapters."""
    built = build_container(Settings(database_url=database_url, redis_url=None))
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def orderledger(database_url: str) -> Callable[..., Result]:
    """Runs ``orderledger <args>`` in-process, as a shell would with DATABASE_URL set."""
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), env={"DATABASE_URL": database_url, "REDIS_URL": None})

    return run
