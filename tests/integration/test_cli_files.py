"""``orderledger files sweep``: the lifecycle rule run from the command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from commands.files.product_images import decide_gallery
from commands.files.uploads import Incoming, upload_files
from infra.cli import app
from infra.container import Container, build_container
from infra.settings import Settings
from tests.unit.files.images import png

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def container(database_url: str, data_dir: Path) -> Iterator[Container]:
    built = build_container(Settings(database_url=database_url, redis_url=None, data_dir=data_dir))
    try:
        yield built
    finally:
        built.close()


def test_the_sweep_deletes_what_nothing_uses_and_keeps_what_a_product_shows(
    container: Container, database_url: str, data_dir: Path
) -> None:
    services, files = container.services, container.files
    assert files is not None
    unused, shown = upload_files(
        services,
        files.storage,
        files.policy,
        [Incoming("a.png", "image/png", png(900)), Incoming("b.png", "image/png", png(901))],
        by="test",
    )
    gallery, attached = decide_gallery(
        services.ledger, "cli-tee", [str(shown.id)], by="test", now=services.clock()
    )
    services.ledger.save_all(gallery, *attached)

    result = CliRunner().invoke(
        app,
        ["files", "sweep", "--grace-seconds", "0"],
        env={"DATABASE_URL": database_url, "REDIS_URL": None, "DATA_DIR": str(data_dir)},
    )

    assert result.exit_code == 0, result.output
    swept = json.loads(result.stdout)
    assert str(unused.id) in swept["files"]
    assert str(shown.id) not in swept["files"]
    assert not (data_dir / "files" / unused.key).exists()
    assert (data_dir / "files" / shown.key).read_bytes() == png(901)


def test_without_a_grace_override_recent_files_are_kept(
    container: Container, database_url: str, data_dir: Path
) -> None:
    files = container.files
    assert files is not None
    (recent,) = upload_files(
        container.services,
        files.storage,
        files.policy,
        [Incoming(None, None, png(902))],
        by="test",
    )

    result = CliRunner().invoke(
        app,
        ["files", "sweep"],
        env={"DATABASE_URL": database_url, "REDIS_URL": None, "DATA_DIR": str(data_dir)},
    )

    assert result.exit_code == 0, result.output
    assert str(recent.id) not in json.loads(result.stdout)["files"]
    assert (data_dir / "files" / recent.key).exists()
