"""A TCP proxy on 127.0.0.1 that a test can cut and restore (a database going away).

Cutting closes the listener and every connection through it (each pipe notices
within a tenth of a second), as a server restart would.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time

TICK = 0.1


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._generation = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # After a cut the old listener lets go of the port within one accept tick.
        deadline = time.monotonic() + 5
        while True:
            try:
                listener.bind(("127.0.0.1", self.port))
                break
            except OSError as error:
                if error.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(TICK)
        listener.listen(64)
        listener.settimeout(TICK)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
            generation = self._generation
        threading.Thread(target=self._accept, args=(listener, generation), daemon=True).start()

    def cut(self) -> None:
        """Stop listening and drop every open connection."""
        with self._lock:
            self._generation += 1
            if self._listener is not None:
                self._listener.close()
                self._listener = None

    def _alive(self, generation: int) -> bool:
        return self._generation == generation

    def _accept(self, listener: socket.socket, generation: int) -> None:
        while self._alive(generation):
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.settimeout(TICK)
            threading.Thread(
                target=self._pipe, args=(client, upstream, generation), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, generation), daemon=True
            ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, generation: int) -> None:
        try:
            while self._alive(generation):
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()
