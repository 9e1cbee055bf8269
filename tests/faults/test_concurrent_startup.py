"""Several processes (API replicas, workers) starting at once against one database."""

from __future__ import annotations

import threading

from commands.ledger import Ledger
from infra.container import open_ledger
from infra.database import event_store_env
from infra.pg import open_pool
from tests.e2e.conftest import fresh_database

PROCESSES = 4
ROUNDS = 10


def start_together(url: str) -> list[str]:
    """Build the ledger in several threads at once, as processes starting together do."""
    start = threading.Barrier(PROCESSES, timeout=30)
    errors: list[str] = []

    def start_ledger() -> None:
        start.wait()
        try:
            pool = open_pool(url, min_size=1, max_size=2)
            try:
                open_ledger(pool, url).close()
            finally:
                pool.close()
        except Exception as error:
            errors.append(repr(error))

    threads = [threading.Thread(target=start_ledger) for _ in range(PROCESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_processes_starting_together_against_one_database_all_start(database_url: str) -> None:
    with fresh_database(database_url) as url:
        Ledger(env=event_store_env(url)).close()  # the tables exist, as after a first start
        for _ in range(ROUNDS):
            errors = start_together(url)
            assert not errors, errors
