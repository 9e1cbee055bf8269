"""Session fixtures shared by every test suite: a fresh database and a Redis URL.

DATABASE_URL set → a uniquely named database on that server, dropped at the end.
DATABASE_URL unset → an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from infra.embedded_db import start_embedded_postgres
from tests.databases import fresh_database

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TEST_REDIS_DB = 15


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an empty database that lives as long as the test session."""
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        embedded = start_embedded_postgres(
            tmp_path_factory.mktemp("embedded"), database="orderledger_test"
        )
        try:
            yield embedded.url
        finally:
            embedded.stop()
        return

    with fresh_database(server_url) as url:
        yield url


@contextlib.contextmanager
def redis_database(db: int) -> Iterator[str]:
    """URL of database ``db`` of the Redis at REDIS_URL (or the local default), flushed
    first; never another database of the shared server.

    Skips when no Redis answers, except on CI (CI=true) or when REDIS_URL was set
    explicitly: then a missing Redis is a failure, not a reason to skip.
    """
    configured = os.environ.get("REDIS_URL")
    parts = urlsplit(configured or DEFAULT_REDIS_URL)
    url = urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis at {parts.hostname}:{parts.port or 6379} does not answer: {error}"
        if configured or os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        client.flushdb()
        yield url
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of Redis database 15, flushed at the start of the session."""
    with redis_database(TEST_REDIS_DB) as url:
        yield url
