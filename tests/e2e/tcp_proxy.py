"""A TCP proxy on 127.0.0.1 that a test can cut and restore (a database going away).

Cutting closes the listener and shuts every connection through it down before it
returns (nothing sent after the cut gets through), as a server restart would.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

TICK = 0.1


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._generation = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

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
            doomed, self._open = self._open, set()
        # At once, not at the pipes' next tick: a request sent right after the cut must
        # not be carried through by a pipe that was already waiting in recv().
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

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
            with self._lock:
                if not self._alive(generation):
                    client.close()
                    upstream.close()
                    return
                self._open.update((client, upstream))
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
            with self._lock:
                self._open.difference_update((source, sink))
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    sock.close()


def through(proxy: TcpProxy, database_url: str) -> str:
    """``database_url`` with its host and port those of ``proxy``."""
    parts = urlsplit(database_url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
