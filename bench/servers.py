"""Servers for the HTTP benchmarks, each its own process on 127.0.0.1, and the load driver.

* the API as production runs it: ``orderledger serve`` (one uvicorn process, no
  worker), configured only through the environment;
* the bare FastAPI baseline (``bench.bare_app``), the same uvicorn settings;
* the Stripe stand-in (``bench.stripe_standin``).

Every child is started by us, ends with us (``PR_SET_PDEATHSIG``) and is stopped
by its own pid. The driver (``bench.http_load``) runs in a process of its own
too; a server's CPU time is read from ``/proc`` around each load run, so each
figure also says how much server CPU one request took, whoever was the bottleneck.
"""

import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import ROOT
from infra.settings import Settings
from infra.stripe_emulator import free_port

BIN = Path(sys.executable).parent
START_SECONDS = 60.0
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (every thread)."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _start(name: str, argv: list[str], port: int, env: dict[str, str], logs: Path) -> Server:
    log = logs / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    server = Server(name, process, port, log)
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2_000:]
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{tail}")
        try:
            if httpx.get(f"{server.url}/health", timeout=2.0).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name} did not answer /health within {START_SECONDS:.0f} s")
        time.sleep(0.1)


def _clean_env() -> dict[str, str]:
    """This process's environment without anything orderledger's Settings would read."""
    fields = {name.upper() for name in Settings.model_fields}
    return {k: v for k, v in os.environ.items() if k.upper() not in fields}


@contextmanager
def log_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="orderledger-bench-") as path:
        yield Path(path)


def api_server(
    logs: Path, *, database_url: str, redis_url: str, stripe_base: str, **settings: str
) -> Server:
    """``orderledger serve`` with production settings (only the service addresses are ours)."""
    port = free_port()
    env = {
        **_clean_env(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STRIPE_API_KEY": "sk_test_bench",
        "STRIPE_API_BASE": stripe_base,
        "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        **{k.upper(): v for k, v in settings.items()},
    }
    argv = [str(BIN / "orderledger"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return _start("orderledger-serve", argv, port, env, logs)


def bare_server(logs: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
    return _start("bare-fastapi", argv, port, _clean_env(), logs)


def ceiling_server(logs: Path, *, database_url: str, redis_url: str, stripe_base: str) -> Server:
    """``bench.ceiling_app``: one Stripe call, one Redis lock, one library save per completion."""
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "bench.ceiling_app",
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--redis-url",
        redis_url,
        "--stripe-base",
        stripe_base,
    ]
    return _start("ceiling", argv, port, _clean_env(), logs)


def stripe_standin(logs: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "bench.stripe_standin", "--port", str(port)]
    return _start("stripe-standin", argv, port, _clean_env(), logs)


@contextmanager
def running(*servers: Server) -> Iterator[None]:
    try:
        yield
    finally:
        for server in reversed(servers):
            server.stop()


def load(
    server: Server,
    method: str,
    paths: list[str],
    *,
    cycle: bool,
    concurrency: int,
    seconds: float,
    warmup: float,
    client: str = "aiohttp",
) -> dict[str, Any]:
    """Run the driver against ``server``; its figures plus the server's CPU per request."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as spec:
        json.dump({"base": server.url, "method": method, "paths": paths, "cycle": cycle}, spec)
    try:
        cpu = server.cpu_seconds()
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.http_load",
                "--spec",
                spec.name,
                "--concurrency",
                str(concurrency),
                "--seconds",
                str(seconds),
                "--warmup",
                str(warmup),
                "--client",
                client,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
            timeout=seconds + warmup + 120,
        )
        used = server.cpu_seconds() - cpu
        wall = time.perf_counter() - started
    finally:
        os.unlink(spec.name)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # Over the whole run, warm-up included (the driver's start-up is idle time for the server).
    result["server_cpu_ms_per_request"] = used * 1000 / max(result["all_requests"], 1)
    result["server_cpu_share"] = used / wall
    return result
