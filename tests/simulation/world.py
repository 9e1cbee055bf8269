"""Every real part of one run, on 127.0.0.1: PostgreSQL through a TCP proxy, a Redis server
of the run's own, localstripe behind the faithful stand-in and a fault switch, the Resend
stand-in, the API (restartable, same port) and a worker process (SIGKILL-able)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from infra.stripe_emulator import free_port, start_emulator
from tests.e2e.conftest import WEBHOOK_SECRET, LiveServer, fresh_database, serving
from tests.e2e.resend_standin import ResendStandIn, resend_standin
from tests.e2e.tcp_proxy import TcpProxy, through
from tests.faults.faithful_stripe import FaithfulStripe, faithful_stripe
from tests.faults.probes import OwnRedis, settings_for, wait_until
from tests.simulation.stripe_faults import StripeSwitch, stripe_switch

GRACE_SECONDS = 3


@dataclass
class World:
    database_url: str  # through the proxy
    proxy: TcpProxy
    redis: OwnRedis
    stripe: FaithfulStripe
    switch: StripeSwitch
    resend: ResendStandIn
    logs: Path
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    port: int = field(default_factory=free_port)
    api: LiveServer | None = None
    _serving_api: ExitStack = field(default_factory=ExitStack)
    worker: subprocess.Popen[bytes] | None = None
    admin_key: str = ""

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- the API, in this process on a fixed port ---------------------------------------------

    def overrides(self) -> dict[str, Any]:
        return {
            "capture_grace_seconds": GRACE_SECONDS,
            "capture_sweep_seconds": 0.5,
            "reconcile_every": 0,
            "resend_api_key": "re_test",
            "resend_api_url": self.resend.url,
        }

    def start_api(self) -> LiveServer:
        settings = settings_for(
            self.database_url, self.redis.url, self.switch.url, **self.overrides()
        )
        serving_api = ExitStack()
        self.api = serving_api.enter_context(
            serving(
                settings,
                emulator_url=self.stripe.url,
                run_worker=False,
                admin_key_name="simulation",
                admin_key=self.admin_key or None,
                port=self.port,
            )
        )
        self.admin_key = self.api.admin_key
        self._serving_api = serving_api
        return self.api

    def stop_api(self) -> None:
        if self.api is None:
            return
        self._serving_api.close()
        self.api = None

    def restart_api(self) -> None:
        self.stop_api()
        self.start_api()

    # --- the worker, a process of its own -------------------------------------------------------

    def worker_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis.url,
            "STRIPE_API_KEY": "sk_test_e2e",
            "STRIPE_API_BASE": self.switch.url,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "CAPTURE_GRACE_SECONDS": str(GRACE_SECONDS),
            "CAPTURE_SWEEP_SECONDS": "0.5",
            "RECONCILE_EVERY": "0",
            "RESEND_API_KEY": "re_test",
            "RESEND_API_URL": self.resend.url,
        }

    def start_worker(self) -> None:
        assert self.worker is None
        log = (self.logs / "worker.log").open("a")
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.crashing_worker", "--kill-at", "never"],
            env=self.worker_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill_worker(self) -> None:
        """SIGKILL: no shutdown, whatever it was doing."""
        if self.worker is not None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(timeout=15)
            self.worker = None

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.terminate()
            try:
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait(timeout=10)
            self.worker = None

    # --- faults ---------------------------------------------------------------------------------

    def cut_database(self) -> None:
        self.proxy.cut()
        threading_pause(0.5)
        self.proxy.start()

    def kill_redis(self) -> None:
        """Killed and started again empty (a flush, too: nothing survives)."""
        self.redis.kill()
        self.redis.start()

    def ready(self) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200
        except httpx.TransportError:
            return False


def threading_pause(seconds: float) -> None:
    import threading

    threading.Event().wait(seconds)


@contextmanager
def world(database_url: str) -> Iterator[World]:
    """A fresh database and every server; torn down in reverse, whatever happened."""
    with ExitStack() as stack:
        emulator = start_emulator()
        stack.callback(emulator.stop)
        faithful = stack.enter_context(faithful_stripe(emulator.url))
        switch = stack.enter_context(stripe_switch(faithful.url))
        resend = stack.enter_context(resend_standin())
        direct = stack.enter_context(fresh_database(database_url))
        target = urlsplit(direct)
        proxy = TcpProxy((target.hostname or "127.0.0.1", int(target.port or 5432)))
        proxy.start()
        stack.callback(proxy.cut)
        redis = OwnRedis()
        redis.start()
        stack.callback(redis.stop)
        logs = Path(tempfile.mkdtemp(prefix="orderledger-simulation-"))
        here = World(
            database_url=through(proxy, direct),
            proxy=proxy,
            redis=redis,
            stripe=faithful,
            switch=switch,
            resend=resend,
            logs=logs,
        )
        here.start_api()
        stack.callback(here.stop_api)
        stack.callback(here.stop_worker)
        here.start_worker()
        faithful.money.webhook_url = f"{here.api_url}/webhooks/stripe"
        faithful.money.webhook_secret = WEBHOOK_SECRET
        wait_until(here.ready, 30, "the API answering")
        yield here
