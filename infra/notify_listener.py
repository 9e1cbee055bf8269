"""A thread that LISTENs on one PostgreSQL channel and calls back when it hears it.

Caches that other processes' commits make stale (the catalog, personal data after an
erasure) drop what they hold when the channel they listen on is notified; while the
listener is not LISTENing (starting, reconnecting) ``on_listening(False)`` tells them
not to trust what they hold.
"""

import logging
import threading
from collections.abc import Callable
from typing import Self

import psycopg

log = logging.getLogger(__name__)


class ChannelListener:
    def __init__(
        self,
        dsn: str,
        channel: str,
        on_notify: Callable[[], None],
        *,
        on_listening: Callable[[bool], None] | None = None,
        retry_after: float = 1.0,
    ) -> None:
        """``dsn``: a libpq connection string (``infra.database.conninfo`` of the URL)."""
        self._dsn = dsn
        self._channel = channel
        self._on_notify = on_notify
        self._on_listening = on_listening or (lambda listening: None)
        self._retry_after = retry_after
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{channel}", daemon=True)
        self.ready = threading.Event()  # set once LISTENing (the first time)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._dsn, autocommit=True) as conn:
                    conn.execute(
                        psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(self._channel))
                    )
                    self._on_listening(True)
                    self.ready.set()
                    while not self._stop.is_set():
                        heard = False
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            heard = True
                        if heard:
                            self._on_notify()
            except psycopg.Error as error:
                log.warning(
                    "listener on %s lost its connection (%s); retrying", self._channel, error
                )
            finally:
                self._on_listening(False)
            self._stop.wait(self._retry_after)
