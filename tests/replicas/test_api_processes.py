"""``orderledger serve --workers 2``: two API processes on one port, sharing nothing in
memory that must be shared (the rate limits count in Redis across both)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import httpx
import psutil
import pytest

from infra.stripe_emulator import free_port
from tests.conftest import redis_database
from tests.e2e.conftest import fresh_database
from tests.faults.probes import wait_until
from tests.processes import ROOT, orderledger_command, orderledger_processes

CARTS_PER_MINUTE = 5


def child_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(PYTHONPATH=str(ROOT), STRIPE_API_KEY="sk_test_local", **values)
    return env


@pytest.fixture(scope="module")
def two_processes(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        fresh_database(database_url) as url,
        redis_database(9) as redis_url,
    ):
        env = child_env(
            DATABASE_URL=url,
            REDIS_URL=redis_url,
            RATE_LIMIT_CARTS_PER_MINUTE=str(CARTS_PER_MINUTE),
        )
        with orderledger_processes(
            [["serve", "--workers", "2", "--port", str(port)]],
            env,
            tmp_path_factory.mktemp("serve"),
            ready_url=f"{base}/health/ready",
            timeout=90,
        ) as (child,):
            wait_until(lambda: len(api_processes(child.pid)) == 2, 30, "two processes")
            yield base


def test_two_api_processes_answer_on_one_port_each_with_its_own_pools(
    two_processes: str, database_url: str
) -> None:
    # Given the supervisor's two processes
    (supervisor,) = [p for p in psutil.process_iter(["cmdline"]) if _is_serve(p, two_processes)]
    children = api_processes(supervisor.pid)
    assert len(children) == 2
    # Then each holds PostgreSQL connections of its own (pools made in each lifespan)
    server_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    for child in children:
        remote_ports = [c.raddr.port for c in child.net_connections("tcp") if c.raddr]
        assert remote_ports.count(server_port) >= 2, (child.pid, remote_ports)


def test_the_rate_limit_counts_across_both_processes(two_processes: str) -> None:
    # When more carts are asked for than the limit allows, each on a new connection
    answers = []
    for _ in range(CARTS_PER_MINUTE + 6):
        with httpx.Client(base_url=two_processes, timeout=10) as client:
            answers.append(client.post("/store/carts", json={}).status_code)
    # Then the limit holds for the two processes together, not per process
    assert answers.count(429) == 6, answers


def api_processes(supervisor: int) -> list[psutil.Process]:
    """The supervisor's API processes (not multiprocessing's resource tracker)."""
    return [
        p
        for p in psutil.Process(supervisor).children()
        if "resource_tracker" not in " ".join(p.cmdline())
    ]


def _is_serve(process: psutil.Process, base: str) -> bool:
    cmdline = process.info.get("cmdline") or []
    return "serve" in cmdline and base.rsplit(":", 1)[1] in cmdline


def test_serving_several_processes_without_redis_is_refused(database_url: str) -> None:
    done = subprocess.run(
        orderledger_command("serve", "--workers", "2", "--port", str(free_port())),
        env=child_env(DATABASE_URL=database_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "needs REDIS_URL" in done.stderr
