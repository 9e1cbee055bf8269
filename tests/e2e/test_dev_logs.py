"""``orderledger dev`` (what ``make run`` starts) talks to a person: readable lines and a
banner at the end of start-up; ``LOG_FORMAT=json`` brings the JSON lines back."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from infra.app import create_app
from infra.log_format import has_console
from infra.stripe_emulator import RunningEmulator, free_port
from tests.e2e.conftest import fresh_database

ORDERLEDGER = str(Path(sys.executable).parent / "orderledger")


def start_up_lines(
    database_url: str, redis_url: str, stripe: str, *, until: str, **env: str
) -> list[str]:
    """stderr of ``orderledger dev`` up to the first line containing ``until``."""
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if k != "LOG_FORMAT"},
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STRIPE_API_BASE": stripe,
        **env,
    }
    child = subprocess.Popen(
        [ORDERLEDGER, "dev", "--port", str(port)],
        env=environment,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while not seen or until not in seen[-1]:
            assert child.poll() is None, seen
            try:
                seen.append(lines.get(timeout=max(deadline - time.monotonic(), 0.1)))
            except queue.Empty:
                pytest.fail(f"no start-up within 60 s: {seen}")
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return seen


def test_make_run_prints_readable_lines_and_ends_start_up_with_a_banner(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> None:
    with fresh_database(database_url) as url:
        lines = start_up_lines(url, redis_url, stripe_emulator.url, until="make an admin key")
    assert not [line for line in lines if line.lstrip().startswith("{")], lines
    assert any(" INFO  uvicorn: Application startup complete." in line for line in lines)
    text = "\n".join(lines)
    assert "orderledger is running" in text
    assert "/docs" in text and "orderledger admin create-key" in text
    console_mounted = has_console(create_app(container_factory=lambda: None).routes)  # type: ignore[arg-type]
    assert ("/console" in text) == console_mounted


def test_log_format_json_brings_back_json_lines_in_dev(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> None:
    with fresh_database(database_url) as url:
        lines = start_up_lines(
            url, redis_url, stripe_emulator.url, until="Uvicorn running", LOG_FORMAT="json"
        )
    logged = [line for line in lines if line.startswith("{")]
    assert logged and all(json.loads(line)["level"] for line in logged)
