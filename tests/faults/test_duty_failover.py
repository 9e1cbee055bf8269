"""Two workers on one store: each duty runs in one of them; killing the holder of the
capture duty mid-burst leaves the other to capture every order, each exactly once."""

from __future__ import annotations

import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from domain.ids import order_id_for
from infra.duties import DUTIES, duty_holders, expected_duties
from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import fresh_database
from tests.e2e.resend_standin import ResendStandIn, resend_standin
from tests.faults.faithful_stripe import FaithfulStripe
from tests.faults.probes import api_only_server, count_events, payment_of, wait_until
from tests.faults.test_worker_crash import place, process, worker_env

GRACE_SECONDS = 2
ORDERS = 12
# A SIGKILL closes the lock connections at once; the other worker tries every second.
TAKEOVER_BOUND_SECONDS = 3.0
WORKER = [sys.executable, "-c", "from infra.cli import main; main()", "worker"]
# Without Redis there is no capture listener; the reconciler runs (RECONCILE_EVERY > 0).
EXPECTED_DUTIES = set(DUTIES) - {"capture-listener"}


def duty_holders_by_name(pool: Any) -> dict[str, str]:
    return {holder.duty: holder.worker for holder in duty_holders(pool)}


@pytest.fixture(scope="module")
def standin() -> Iterator[ResendStandIn]:
    with resend_standin() as running:
        yield running


def test_killing_the_capture_duty_holder_mid_burst_captures_every_order_once(
    database_url: str,
    emulator: RunningEmulator,
    faithful: FaithfulStripe,
    standin: ResendStandIn,
    tmp_path: Path,
) -> None:
    with (
        fresh_database(database_url) as url,
        api_only_server(
            url, None, emulator, capture_grace_seconds=GRACE_SECONDS, capture_sweep_seconds=0.5
        ) as server,
        ExitStack() as stack,
    ):
        env = worker_env(url, emulator)
        env.update(RESEND_API_KEY="re_test", RESEND_API_URL=standin.url)
        pool = server.container.pool
        assert expected_duties(server.container) == EXPECTED_DUTIES
        first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
        first = stack.enter_context(process(WORKER, env, first_log))
        # Given the first worker holding every duty and a second one standing by
        every = wait_until(
            lambda: (
                (h := {x.duty: x.worker for x in duty_holders(pool)}).keys() >= EXPECTED_DUTIES
                and h
            ),
            60,
            "the first worker to start and take every duty",
        )
        first_name = every["capture-sweeper"]
        assert first_name.endswith(f":{first.pid}")
        assert set(every.values()) == {first_name}
        # When a second worker starts, the two share the duties (4 and 3)
        second = stack.enter_context(process(WORKER, env, second_log))
        shared = wait_until(
            lambda: (
                (h := {x.duty: x.worker for x in duty_holders(pool)}).keys() >= EXPECTED_DUTIES
                and sorted(Counter(h.values()).values()) == [3, 4]
                and h
            ),
            60,
            "the two workers to share the duties",
        )
        pids = {first.pid: first, second.pid: second}
        assert {int(name.rsplit(":", 1)[1]) for name in shared.values()} == set(pids)

        # and a burst of orders falls due, and the capture duty's holder is killed mid-burst
        placing = ThreadPoolExecutor(1).submit(place, server, ORDERS)
        wait_until(
            lambda: count_events(url, ":PaymentCollection.CaptureSucceeded") >= 1,
            30,
            "the first captures",
        )
        captured_before = count_events(url, ":PaymentCollection.CaptureSucceeded")
        victim_pid = int(duty_holders_by_name(pool)["capture-sweeper"].rsplit(":", 1)[1])
        survivor = pids[next(pid for pid in pids if pid != victim_pid)]
        pids[victim_pid].send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        pids[victim_pid].wait(timeout=10)
        # Then the survivor holds every duty within the takeover bound
        taken = wait_until(
            lambda: (
                (h := duty_holders_by_name(pool)).keys() >= EXPECTED_DUTIES
                and set(h.values()) == {f"{h['capture-sweeper']}"}
                and h["capture-sweeper"].endswith(f":{survivor.pid}")
                and h
            ),
            TAKEOVER_BOUND_SECONDS + 2,
            "the surviving worker to take every duty over",
        )
        takeover = time.monotonic() - killed_at
        assert takeover <= TAKEOVER_BOUND_SECONDS, takeover
        assert len(taken) == len(EXPECTED_DUTIES)
        # as /health/status and the metrics say
        with server.client() as client:
            assert client.get("/health/status").json()["duties"] == taken
            metrics = client.get("/metrics").text
        holder = taken["capture-sweeper"]
        assert f'orderledger_duty_held{{duty="capture-sweeper",worker="{holder}"}} 1.0' in metrics
        assert "orderledger_duties_unheld 0.0" in metrics  # (no capture listener: no Redis)
        intents = placing.result(timeout=120)
        orders = [order_id_for(pi) for pi in intents]
        assert captured_before < ORDERS, "the burst was over before the kill"

        # Then every order is captured, each once at Stripe and once in the ledger
        wait_until(
            lambda: all(payment_of(server, o).is_captured for o in orders),
            GRACE_SECONDS + 20,
            "every order captured",
        )
        for order_id, intent_id in zip(orders, intents, strict=True):
            payment = payment_of(server, order_id)
            assert count_events(url, ":PaymentCollection.CaptureSucceeded", payment.id) == 1
            assert count_events(url, ":Order.Captured", order_id) == 1
            assert [c.amount for c in faithful.successful_captures(intent_id)] == [payment.captured]
        # and no e-mail went out twice: each message has one idempotency key (so a resend
        # after the kill is one delivery at Resend), and each key was accepted once
        wait_until(lambda: len(standin.received) >= ORDERS, 20, "the order e-mails")
        accepted = [r for r in standin.received if r.status == 200]
        keys_per_message: dict[tuple[str, ...], set[str | None]] = {}
        for received in accepted:
            message = (*received.recipients, str(received.payload.get("subject")))
            keys_per_message.setdefault(message, set()).add(received.idempotency_key)
        assert len(keys_per_message) >= ORDERS
        assert all(len(keys) == 1 for keys in keys_per_message.values()), keys_per_message
        sent = Counter(r.idempotency_key for r in accepted)
        assert max(sent.values()) == 1, sent
        # and the views hold each order once, at its captured state
        rows = server.container.read_models.admin_orders(status=None, limit=100, offset=0)[0]
        mine = [row for row in rows if row["order_id"] in set(orders)]
        assert len(mine) == ORDERS
        wait_until(
            lambda: all(
                (server.container.read_models.admin_order(o) or {}).get("status") == "captured"
                for o in orders
            ),
            20,
            "the views showing every capture",
        )
