"""Finding 13 (admin side): failed admin authentication is slowed per client and counted;
the key lookup does the same work whether a key id exists or not."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from infra.admin_keys import AdminKeys
from tests.e2e.conftest import LiveServer
from tests.security.edge_server import client_of, edge_server

FAILURES = 3


@pytest.fixture(scope="module")
def server(database_url: str, redis_url: str) -> Iterator[LiveServer]:
    with edge_server(database_url, redis_url, admin_auth_failures_per_minute=FAILURES) as live:
        yield live


def test_a_client_guessing_keys_is_refused_even_its_good_key_until_the_minute_is_over(
    server: LiveServer,
) -> None:
    guess = {"Authorization": "Bearer olk_0123456789ab_guessing"}
    good = {"Authorization": f"Bearer {server.admin_key}"}
    with client_of(server, peer="127.0.0.6") as guesser:
        answers = []
        for _ in range(2 * FAILURES + 1):
            window = int(time.time()) // 60
            answers.append(guesser.get("/admin/orders", headers=guess).status_code)
            if answers[-1] == 429:
                break
        after = guesser.get("/admin/orders", headers=good)
        same_window = int(time.time()) // 60 == window
    with client_of(server, peer="127.0.0.7") as someone_else:
        other = someone_else.get("/admin/orders", headers=good)
    assert answers[-1] == 429 and set(answers[:-1]) == {401}
    assert "retry-after" in after.headers or not same_window
    if same_window:
        assert after.status_code == 429
    assert other.status_code == 200


def test_failed_admin_authentications_are_counted_in_metrics(server: LiveServer) -> None:
    def failures() -> float:
        with client_of(server) as local:
            text = local.get("/metrics").text
        line = next(
            x for x in text.splitlines() if x.startswith("orderledger_admin_auth_failures_total")
        )
        return float(line.split()[-1])

    before = failures()
    with client_of(server, peer="127.0.0.8") as client:
        client.get("/admin/orders")
        client.get("/admin/orders", headers={"Authorization": "Bearer nope"})
    assert failures() - before == 2


Statement = tuple[str, tuple[int, ...], bool]  # query, parameter sizes, a row found


class _Recording:
    """A pool that notes each statement, the shape of its parameters and its outcome."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self.statements: list[Statement] = []

    @contextmanager
    def connection(self) -> Iterator[Any]:
        with self._pool.connection() as conn:
            yield _RecordingConnection(conn, self.statements)


class _RecordingConnection:
    def __init__(self, conn: Any, statements: list[Statement]) -> None:
        self._conn = conn
        self._statements = statements

    def execute(self, query: str, params: tuple[Any, ...] = ()) -> Any:
        rows = self._conn.execute(query, params).fetchall()
        self._statements.append((query, tuple(len(str(p)) for p in params), bool(rows)))
        return _Rows(rows)


class _Rows:
    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None


def test_a_known_key_id_and_an_unknown_one_cost_the_same_lookup(server: LiveServer) -> None:
    recording = _Recording(server.container.pool)
    keys = AdminKeys(recording)  # type: ignore[arg-type]
    known_id = server.admin_key.split("_")[1]
    secret = server.admin_key.split("_", 2)[2]
    wrong_secret = "x" * len(secret)
    assert keys.verify(f"olk_{known_id}_{wrong_secret}") is None
    assert keys.verify(f"olk_ffffffffffff_{wrong_secret}") is None
    assert keys.verify(server.admin_key) == known_id
    known, unknown, good = recording.statements
    # A wrong secret finds nothing, whether its key id exists or not: the same work.
    assert known == unknown
    assert good[:2] == known[:2] and good[2]
