"""The background work: projectors, process manager, capture listener and sweeper.

Each of those duties runs in one worker at a time however many run (``infra.duties``).

``orderledger worker`` runs it alone; ``orderledger dev`` runs it inside the API
process. Stopping lets the capture or batch in flight finish.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from commands.capture import capture_when_woken
from infra.backorder_alerts import BACKORDER_STREAM as BACKORDER_STREAM
from infra.container import Container
from infra.database import conninfo
from infra.duties import CHECK_SECONDS, RETRY_SECONDS, Duty, Sharing, expected_duties
from infra.health import worker_name
from infra.schema import SCHEMA
from infra.sweeper import run_sweeper
from infra.timers import listen_for_due_captures

log = logging.getLogger(__name__)

# Captures wait mostly on Stripe, the order's lock and PostgreSQL: many run at once,
# so a burst of orders falling due together is not captured one after the other
# (bench-capture: a burst of 200 at ~80/s with 8 threads, ~95/s with 16).
CAPTURE_THREADS = 16


class Worker:
    def __init__(
        self,
        container: Container,
        *,
        poll_seconds: float = 1.0,
        sweep_seconds: float | None = None,
        process_poll_seconds: float = 0.2,
        capture_threads: int = CAPTURE_THREADS,
        name: str | None = None,
        lease_check_seconds: float = CHECK_SECONDS,
        lease_retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self._container = container
        self.name = name or worker_name()  # its heartbeat's name in /health/status
        self._stop = threading.Event()
        self._poll_seconds = poll_seconds
        self._sweep_seconds = sweep_seconds or container.settings.capture_sweep_seconds
        self._process_poll_seconds = process_poll_seconds
        self._threads: list[threading.Thread] = []
        self._lease_check_seconds = lease_check_seconds
        self._lease_retry_seconds = lease_retry_seconds
        self.duties: dict[str, Duty] = {}  # each duty this worker may hold (infra.duties)
        self._sharing = Sharing(container.pool, self.name, self.duties)
        self._captures = ThreadPoolExecutor(capture_threads, thread_name_prefix="capture")
        self._in_flight: set[UUID] = set()
        self._in_flight_lock = threading.Lock()
        # Built by the bootstrap (``infra.container.worker_parts``), shared by every worker
        # of this container: a duty runs in one worker at a time.
        self.process_manager = container.worker.process_manager

    def start(self) -> None:
        container = self._container
        expected = expected_duties(container)
        self._duty(
            "projections",
            lambda stop: container.projections.run(stop, poll_seconds=self._poll_seconds),
        )
        self._duty("process-manager", self._follow)
        self._spawn("heartbeat", self._beat)
        self._duty(
            "capture-sweeper",
            lambda stop: run_sweeper(
                container.pool, self._submit_capture, stop, self._sweep_seconds
            ),
        )
        if container.redis is not None and "capture-listener" in expected:
            redis_client = container.redis
            self._duty(
                "capture-listener",
                lambda stop: listen_for_due_captures(redis_client, self._submit_capture, stop),
            )
        self._start_notifications()
        from infra.file_sweeper import run_file_sweeper

        self._duty("file-sweeper", lambda stop: run_file_sweeper(container, stop))
        if "reconciler" in expected:
            from infra.reconciliation import reconcile_on_schedule

            self._duty("reconciler", lambda stop: reconcile_on_schedule(container, stop))

    def _start_notifications(self) -> None:
        """The notifier decides e-mails from the log; the sender delivers them."""
        notifier = self._container.worker.notifier

        def follow(stop: threading.Event) -> None:
            while not stop.is_set():
                try:
                    notifier.catch_up()
                except Exception:
                    log.exception("notifier failed; retrying")
                stop.wait(self._process_poll_seconds)

        self._duty("notifier", follow)
        self._duty("mail-sender", self._container.worker.sender.run)

    def _duty(self, name: str, run: Callable[[threading.Event], Any]) -> None:
        """Run ``run(stop)`` while this worker holds the duty (``infra.duties``)."""
        duty = Duty(
            name,
            run,
            conninfo=conninfo(self._container.database_url),
            holder=self.name,
            stop=self._stop,
            check_seconds=self._lease_check_seconds,
            retry_seconds=self._lease_retry_seconds,
            may_keep=self._sharing.may_keep,
        )
        self.duties[name] = duty
        self._spawn(f"duty-{name}", duty.run_forever)

    def _spawn(self, name: str, target: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, args=args, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _beat(self, every: float = 5.0) -> None:
        """Tell /health/status (and the metrics) that this worker is alive; a worker that
        stops cleanly says so, so that only a crashed one is named as stale."""
        while not self._stop.is_set():
            try:
                with self._container.pool.connection() as conn:
                    conn.execute(
                        f"INSERT INTO {SCHEMA}.heartbeats VALUES (%s, now()) "
                        "ON CONFLICT (name) DO UPDATE SET beat_at = now()",
                        (self.name,),
                    )
            except Exception as error:
                log.warning("heartbeat failed: %s", error)
            self._stop.wait(every)
        try:
            with self._container.pool.connection(timeout=2.0) as conn:
                conn.execute(f"DELETE FROM {SCHEMA}.heartbeats WHERE name = %s", (self.name,))
        except Exception as error:
            log.warning("could not sign off the heartbeat: %s", error)

    def _follow(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.process_manager.catch_up()
            except Exception:
                log.exception("process manager failed; retrying")
            stop.wait(self._process_poll_seconds)

    def _submit_capture(self, order_id: UUID) -> None:
        """Hand a due capture to the pool; an order already queued or running is skipped."""
        with self._in_flight_lock:
            if order_id in self._in_flight:
                return
            self._in_flight.add(order_id)
        try:
            self._captures.submit(self._capture_in_pool, order_id)
        except RuntimeError:  # shutting down: the next sweep after a restart captures it
            with self._in_flight_lock:
                self._in_flight.discard(order_id)

    def _capture_in_pool(self, order_id: UUID) -> None:
        try:
            self.capture_due(order_id)
        except Exception:
            log.exception("capture of %s failed; the sweeper will retry", order_id)
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(order_id)

    def capture_due(self, order_id: UUID) -> object:
        return capture_when_woken(self._container.services, order_id)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._captures.shutdown(wait=True, cancel_futures=True)

    def wait(self) -> None:
        """Block until stopped (by ``stop`` from a signal handler)."""
        while not self._stop.wait(0.5):
            pass
