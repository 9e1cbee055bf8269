"""A throwaway PostgreSQL primary with a streaming hot standby, from this machine's binaries.

``initdb``, ``pg_basebackup -R`` and ``pg_ctl`` (from ``pg_config --bindir``) on free
ports of 127.0.0.1, in a temp dir, run as the ``postgres`` user when we are root (initdb
refuses root). Stopped with ``pg_ctl stop`` and removed at the end. Without the server
binaries the tests skip with the reason, except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from infra.stripe_emulator import free_port


def _bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
    bindir = Path(found.stdout.strip())
    wanted = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
    return bindir if all((bindir / name).exists() for name in wanted) else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Cluster:
    bindir: Path
    root: Path
    primary_port: int
    standby_port: int
    as_user: list[str]

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.primary_port}/postgres"

    @property
    def standby_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.standby_port}/postgres"

    def run(self, *command: str) -> None:
        done = subprocess.run(
            [*self.as_user, *command], capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    def ctl(self, node: str, action: str, *extra: str) -> None:
        data = str(self.root / node)
        log = str(self.root / f"{node}.log")
        self.run(
            str(self.bindir / "pg_ctl"), "-D", data, "-l", log, "-w", "-t", "60", action, *extra
        )

    def stop_standby(self) -> None:
        self.ctl("standby", "stop", "-m", "fast")

    def start_standby(self) -> None:
        self.ctl("standby", "start")

    def replayed(self) -> int:
        with psycopg.connect(self.standby_url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn").fetchone()
        return int(row[0]) if row and row[0] is not None else 0


CONFIG = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 5
hot_standby = on
fsync = off
full_page_writes = off
max_connections = 200
shared_buffers = 64MB
"""


@contextmanager
def primary_with_standby() -> Iterator[Cluster]:
    bindir = _bindir()
    if bindir is None:
        _unavailable(
            "the PostgreSQL server binaries (pg_config --bindir: initdb, pg_ctl, …) are absent"
        )
        raise AssertionError("unreachable")
    as_user: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            _unavailable("running as root without runuser: initdb refuses root")
        as_user = [str(runuser), "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="orderledger-standby-"))
    if as_user:
        shutil.chown(root, "postgres")
    cluster = Cluster(bindir, root, free_port(), free_port(), as_user)
    started: list[str] = []
    try:
        primary = root / "primary"
        cluster.run(
            str(bindir / "initdb"),
            "-D",
            str(primary),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        with (primary / "postgresql.conf").open("a") as conf:
            conf.write(CONFIG.format(port=cluster.primary_port, sockets=root))
        cluster.ctl("primary", "start")
        started.append("primary")
        cluster.run(
            str(bindir / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(cluster.primary_port),
            "-U",
            "postgres",
            "-D",
            str(root / "standby"),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        )
        with (root / "standby" / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {cluster.standby_port}\n")
        cluster.start_standby()
        started.append("standby")
        yield cluster
    finally:
        for node in reversed(started):
            with contextlib.suppress(RuntimeError):  # already stopped by the test
                cluster.ctl(node, "stop", "-m", "immediate")
        shutil.rmtree(root, ignore_errors=True)
