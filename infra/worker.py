"""The background work: projectors (and, as the ledger grows, the process manager).

``orderledger worker`` runs it alone; ``orderledger dev`` runs it inside the API
process. Stopping lets the batch in flight finish.
"""

import logging
import threading

from infra.container import Container

log = logging.getLogger(__name__)


class Worker:
    def __init__(self, container: Container, *, poll_seconds: float = 1.0) -> None:
        self._container = container
        self._stop = threading.Event()
        self._poll_seconds = poll_seconds
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        runtime = self._container.projections
        thread = threading.Thread(
            target=runtime.run,
            args=(self._stop,),
            kwargs={"poll_seconds": self._poll_seconds},
            name="projections",
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def wait(self) -> None:
        """Block until stopped (by ``stop`` from a signal handler)."""
        while not self._stop.wait(0.5):
            pass
