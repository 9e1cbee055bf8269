"""A worker process that dies by SIGKILL at one step of one order's capture.

    python -m tests.faults.crashing_worker --kill-at before-stripe --order <uuid>

Settings come from the environment, as for ``orderledger worker``. The faults are
patched into this process only:

- ``before-stripe``: just before the Stripe capture call;
- ``after-stripe``: after Stripe captured, before the ledger records it;
- ``after-save``: after the capture was saved, before the lock is released;
- ``never``: no fault (an ordinary worker).

With ``--order``, the worker captures that order only (the others are left to
other workers), so one process crashes at one known step.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any
from uuid import UUID

import commands.capture as capture_module
from domain.ids import order_id_for
from infra.container import build_container
from infra.settings import load_settings
from infra.worker import Worker

STEPS = ("before-stripe", "after-stripe", "after-save", "never")


def die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def install_fault(container: Any, step: str, target: UUID | None) -> None:
    def aimed_at(order_id: UUID) -> bool:
        return target is None or order_id == target

    payments = container.services.payments
    real_capture = payments.capture_payment_intent

    def capture_payment_intent(payment_intent_id: str, **kwargs: Any) -> Any:
        hit = aimed_at(order_id_for(payment_intent_id))
        if hit and step == "before-stripe":
            die()
        intent = real_capture(payment_intent_id, **kwargs)
        if hit and step == "after-stripe":
            die()
        return intent

    payments.capture_payment_intent = capture_payment_intent

    real_record = capture_module._record_capture

    def record_capture(services: Any, order_id: UUID, *args: Any, **kwargs: Any) -> Any:
        outcome = real_record(services, order_id, *args, **kwargs)
        if aimed_at(order_id) and step == "after-save":
            die()
        return outcome

    capture_module._record_capture = record_capture


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kill-at", choices=STEPS, required=True)
    parser.add_argument("--order", type=UUID, default=None)
    args = parser.parse_args(argv)

    container = build_container(load_settings())
    print("container ready", flush=True)
    worker = Worker(container)
    if args.kill_at != "never":
        install_fault(container, args.kill_at, args.order)
    if args.order is not None:
        real_capture_due = worker.capture_due

        def capture_due(order_id: UUID) -> object:
            return real_capture_due(order_id) if order_id == args.order else None

        worker.capture_due = capture_due  # type: ignore[method-assign]
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    worker.start()
    print("worker started", flush=True)
    try:
        worker.wait()
    finally:
        worker.stop()
        container.close()


if __name__ == "__main__":
    main()
