"""The one way a test runs ``orderledger`` as processes of its own, as a shop runs it
(``serve``, ``worker``): started together, waited for until the API answers, stopped."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def orderledger_command(*args: str) -> list[str]:
    """The ``orderledger`` command line of this virtualenv."""
    return [sys.executable, "-c", "from infra.cli import main; main()", *args]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _tails(logs: list[Path]) -> str:
    return "\n".join(f"--- {log}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)


@contextmanager
def orderledger_processes(
    commands: list[list[str]],
    env: dict[str, str],
    logs: Path,
    *,
    ready_url: str,
    timeout: float = 60.0,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``orderledger <command>`` for each of ``commands`` (each writing stdout and stderr
    to ``logs/<command>.log``) until ``ready_url`` answers 200; fails with the logs if one
    of them exits first or ``timeout`` seconds pass. Terminated (then killed) afterwards."""
    logs.mkdir(parents=True, exist_ok=True)
    paths = [logs / f"{command[0]}.log" for command in commands]
    with ExitStack() as stack:
        processes: list[subprocess.Popen[bytes]] = []
        stack.callback(_stop, processes)
        for command, path in zip(commands, paths, strict=True):
            out = stack.enter_context(path.open("wb"))
            processes.append(
                subprocess.Popen(
                    orderledger_command(*command),
                    env=env,
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while not _answers(ready_url):
            exited = [p.args for p in processes if p.poll() is not None]
            if exited or time.monotonic() > deadline:
                raise AssertionError(
                    f"orderledger did not start ({ready_url}; exited: {exited})\n{_tails(paths)}"
                )
            pause.wait(0.1)  # the server binding its port, bounded above
        yield processes


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
