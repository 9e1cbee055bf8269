"""The background work: projectors, process manager, capture listener and sweeper.

``orderledger worker`` runs it alone; ``orderledger dev`` runs it inside the API
process. Stopping lets the capture or batch in flight finish.
"""

import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from commands.capture import capture_payment
from commands.process_manager import ProcessManager
from infra.container import Container
from infra.sweeper import run_sweeper
from infra.timers import listen_for_due_captures

log = logging.getLogger(__name__)

BACKORDER_STREAM = "inventory.backordered"


class Worker:
    def __init__(
        self,
        container: Container,
        *,
        poll_seconds: float = 1.0,
        sweep_seconds: float | None = None,
        process_poll_seconds: float = 0.2,
    ) -> None:
        self._container = container
        self._stop = threading.Event()
        self._poll_seconds = poll_seconds
        self._sweep_seconds = sweep_seconds or container.settings.capture_sweep_seconds
        self._process_poll_seconds = process_poll_seconds
        self._threads: list[threading.Thread] = []
        self.process_manager = ProcessManager(
            container.services, on_backorder=self._publish_backorder
        )

    def start(self) -> None:
        container = self._container
        self._spawn(
            "projections", container.projections.run, self._stop, poll_seconds=self._poll_seconds
        )
        self._spawn("process-manager", self._follow)
        self._spawn(
            "capture-sweeper",
            run_sweeper,
            container.pool,
            self.capture_due,
            self._stop,
            self._sweep_seconds,
        )
        if container.redis is not None:
            self._spawn(
                "capture-listener",
                listen_for_due_captures,
                container.redis,
                self.capture_due,
                self._stop,
            )

    def _spawn(self, name: str, target: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.process_manager.catch_up()
            except Exception:
                log.exception("process manager failed; retrying")
            self._stop.wait(self._process_poll_seconds)

    def capture_due(self, order_id: UUID) -> object:
        services = self._container.services
        outcome = capture_payment(services, order_id, by="worker", only_if_due=True)
        if outcome.status == "not_due":
            # Woken a moment early (clock granularity): set the timer again.
            from domain.ids import payment_collection_id_for
            from domain.payment_collection import PaymentCollection

            payment = services.ledger.get_or_none(
                payment_collection_id_for(order_id), PaymentCollection
            )
            if payment is not None and payment.capture_due_at is not None:
                services.timers.set(order_id, payment.capture_due_at, services.clock())
        return outcome

    def _publish_backorder(self, alert: dict[str, Any]) -> None:
        redis_client = self._container.redis
        log.warning("backordered: %s", json.dumps(alert))
        if redis_client is not None:
            try:
                redis_client.xadd(BACKORDER_STREAM, {"data": json.dumps(alert)}, maxlen=10_000)
            except Exception as error:
                log.warning("could not publish backorder alert: %s", error)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def wait(self) -> None:
        """Block until stopped (by ``stop`` from a signal handler)."""
        while not self._stop.wait(0.5):
            pass
