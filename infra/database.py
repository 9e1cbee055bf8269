"""DATABASE_URL → connection settings for the event store and for our own psycopg use.

The eventsourcing library takes its Postgres settings from a flat environment
(POSTGRES_HOST, POSTGRES_DBNAME, …) and has no place for libpq's SSL options;
those go into libpq's own environment variables (PGSSLMODE, …), which libpq
reads for every connection the process opens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from psycopg.conninfo import make_conninfo

SCHEMES = ("postgresql", "postgres")

# URL query option → libpq environment variable.
SSL_OPTIONS: dict[str, str] = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}

# Query options that can stand in for parts of the URL, as libpq allows.
_CONNECTION_OPTIONS = ("host", "port", "dbname", "user", "password")

_DEFAULT_CONNECT_TIMEOUT = 5


@dataclass(frozen=True)
class DatabaseUrl:
    """The parts of a PostgreSQL URL that we use.

    Empty strings mean "libpq's default" (e.g. an empty host is the default
    unix socket, an empty dbname is the user name).
    """

    host: str
    port: str
    dbname: str
    user: str
    password: str = field(repr=False)
    connect_timeout: int
    ssl: dict[str, str]


def parse_database_url(database_url: str) -> DatabaseUrl:
    """Parse a postgresql:// URL; raise ValueError with a one-line reason.

    The host may be a unix socket directory, either percent-encoded in the host
    part or given as a `host=` query option (as the embedded server does:
    `postgresql://postgres:@/postgres?host=/tmp/x`).
    """
    parts = urlsplit(database_url)
    if parts.scheme not in SCHEMES:
        raise ValueError(
            f"must start with postgresql:// or postgres:// (got scheme {parts.scheme!r})"
        )
    if parts.fragment:
        raise ValueError("must not contain a #fragment")

    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if "," in hostport:
        raise ValueError("multiple hosts are not supported")
    host, port = _split_host_port(hostport)
    values = {
        "host": unquote(host),
        "port": port,
        "dbname": unquote(parts.path.lstrip("/")),
        "user": unquote(user),
        "password": unquote(password),
    }

    ssl: dict[str, str] = {}
    connect_timeout = _DEFAULT_CONNECT_TIMEOUT
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in _CONNECTION_OPTIONS:
            values[key] = value
        elif key in SSL_OPTIONS:
            ssl[key] = value
        elif key == "connect_timeout":
            connect_timeout = _parse_int(key, value)
        else:
            raise ValueError(f"option {key!r} is not supported")

    if values["port"]:
        _parse_int("port", values["port"])
    return DatabaseUrl(
        host=values["host"],
        port=values["port"] or "5432",
        dbname=values["dbname"],
        user=values["user"],
        password=values["password"],
        connect_timeout=connect_timeout,
        ssl=ssl,
    )


def event_store_env(database_url: str) -> dict[str, str]:
    """The eventsourcing library's environment for a Postgres event store.

    SSL options are not in here: call `apply_ssl_environment` as well.
    """
    url = parse_database_url(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.dbname,
        "POSTGRES_HOST": url.host,
        "POSTGRES_PORT": url.port,
        "POSTGRES_USER": url.user,
        "POSTGRES_PASSWORD": url.password,
        "POSTGRES_POOL_SIZE": "5",
        # Room for the worker's capture threads (16) besides its followers; the pool
        # keeps five and opens the others only while a burst lasts.
        "POSTGRES_MAX_OVERFLOW": "20",
        "POSTGRES_CONNECT_TIMEOUT": str(url.connect_timeout),
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "CREATE_TABLE": "y",
        # POSTGRES_ENABLE_DB_FUNCTIONS is deliberately never set.
    }


def ssl_environment(database_url: str) -> dict[str, str]:
    """The libpq environment variables for the URL's SSL options (only those given)."""
    url = parse_database_url(database_url)
    return {SSL_OPTIONS[key]: value for key, value in url.ssl.items()}


def apply_ssl_environment(database_url: str) -> None:
    """Put the URL's SSL options into os.environ, where libpq reads them."""
    os.environ.update(ssl_environment(database_url))


def conninfo(database_url: str) -> str:
    """A psycopg conninfo string for the URL, SSL options included."""
    url = parse_database_url(database_url)
    params: dict[str, str | int] = {
        "host": url.host,
        "port": url.port,
        "dbname": url.dbname,
        "user": url.user,
        "password": url.password,
        "connect_timeout": url.connect_timeout,
        **url.ssl,
    }
    # Empty values are left out so that libpq applies its defaults.
    return make_conninfo("", **{k: v for k, v in params.items() if v != ""})


def with_database(database_url: str, dbname: str) -> str:
    """The same URL naming another database on the same server."""
    parts = urlsplit(database_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"]
    rebuilt_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='/')}" for k, v in query)
    return urlunsplit((parts.scheme, parts.netloc, "/" + quote(dbname, safe=""), rebuilt_query, ""))


def _split_host_port(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):  # [IPv6]:port
        host, _, rest = hostport[1:].partition("]")
        return host, rest.removeprefix(":")
    host, _, port = hostport.partition(":")
    return host, port


def _parse_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative (got {value!r})")
    return number
