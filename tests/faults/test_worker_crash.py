"""A worker killed (SIGKILL) at each step of a capture: on restart, each order is captured once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from domain.ids import order_id_for
from domain.order import Order
from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import LiveServer, fresh_database, open_shop
from tests.faults.faithful_stripe import FaithfulStripe
from tests.faults.probes import api_only_server, count_events, payment_of, wait_until

GRACE_SECONDS = 2
STEPS = ("before-stripe", "after-stripe", "after-save")
ROOT = Path(__file__).resolve().parents[2]


def worker_env(database_url: str, emulator: RunningEmulator) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=database_url,
        STRIPE_API_KEY="sk_test_e2e",
        STRIPE_API_BASE=emulator.url,
        CAPTURE_GRACE_SECONDS=str(GRACE_SECONDS),
        CAPTURE_SWEEP_SECONDS="0.5",
        PYTHONPATH=str(ROOT),
    )
    return env


@contextmanager
def process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)


def started(child: subprocess.Popen[bytes], log: Path) -> bool:
    """The worker built its container (or is gone already)."""
    return child.poll() is not None or b"container ready" in log.read_bytes()


def place(server: LiveServer, count: int) -> list[str]:
    shop = open_shop(server, stock=20)
    intents = []
    with server.client() as client:
        for _ in range(count):
            cart, intent_id = authorized_cart(server, client, shop, quantity=1)
            done = client.post(f"/store/carts/{cart['id']}/complete")
            assert done.status_code == 200, done.text
            intents.append(intent_id)
    return intents


def test_a_worker_killed_before_or_after_stripe_or_after_the_save_captures_each_order_once(
    database_url: str, emulator: RunningEmulator, faithful: FaithfulStripe, tmp_path: Path
) -> None:
    with (
        fresh_database(database_url) as url,
        # No Redis: locks are Postgres advisory locks, which a killed process's
        # connection gives back at once (a Redis lock would linger for its 120 s TTL).
        api_only_server(
            url, None, emulator, capture_grace_seconds=GRACE_SECONDS, capture_sweep_seconds=0.5
        ) as server,
    ):
        intents = dict(zip(STEPS, place(server, len(STEPS)), strict=True))
        orders = {step: order_id_for(pi) for step, pi in intents.items()}
        env = worker_env(url, emulator)
        stripe_client = server.stripe()

        with ExitStack() as stack:
            children = []
            for step in STEPS:
                log = tmp_path / f"{step}.log"
                command = [sys.executable, "-m", "tests.faults.crashing_worker"]
                command += ["--kill-at", step, "--order", str(orders[step])]
                child = stack.enter_context(process(command, env, log))
                # One process at a time builds its container: processes starting together
                # race on the event store's DDL (see test_concurrent_startup.py).
                wait_until(partial(started, child, log), 60, f"the {step} worker to start")
                children.append(child)
            for step, child in zip(STEPS, children, strict=True):
                try:
                    code = child.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    pytest.fail(f"the {step} worker did not reach its fault")
                log_tail = (tmp_path / f"{step}.log").read_text()[-2000:]
                assert code == -signal.SIGKILL, (step, code, log_tail)

        # What each crash left behind.
        def state(step: str) -> tuple[str, bool, int]:
            intent: Any = stripe_client.v1.payment_intents.retrieve(intents[step])
            return (
                intent.status,
                payment_of(server, orders[step]).is_captured,
                len(faithful.successful_captures(intents[step])),
            )

        assert state("before-stripe") == ("requires_capture", False, 0)
        assert state("after-stripe") == ("succeeded", False, 1)
        assert state("after-save") == ("succeeded", True, 1)

        with process(
            [sys.executable, "-c", "from infra.cli import main; main()", "worker"],
            env,
            tmp_path / "worker.log",
        ) as worker:
            wait_until(
                lambda: all(payment_of(server, o).is_captured for o in orders.values()),
                30,
                "the restarted worker to finish every capture",
            )
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0

        for step in STEPS:
            order_id, intent_id = orders[step], intents[step]
            payment = payment_of(server, order_id)
            assert [t["kind"] for t in payment.transactions] == ["authorization", "capture"], step
            assert count_events(url, ":PaymentCollection.CaptureSucceeded", payment.id) == 1, step
            assert count_events(url, ":Order.Captured", order_id) == 1, step
            order: Order = server.container.ledger.repository.get(order_id)
            assert isinstance(order, Order) and order.status == "captured"
            assert stripe_client.v1.payment_intents.retrieve(intent_id).status == "succeeded"
            charged = faithful.successful_captures(intent_id)
            assert [c.amount for c in charged] == [payment.captured], step
