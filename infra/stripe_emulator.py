"""Run the localstripe emulator on 127.0.0.1 (development and tests only).

localstripe's own ``start()`` listens on every interface and pickles its state to
the temp folder; here its aiohttp app is served on loopback with no state file.
"""

import argparse
import os
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass


def serve(port: int, parent: int | None = None) -> None:
    from aiohttp import web
    from localstripe import resources, server

    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()

    resources.store.dump_to_disk = lambda *args, **kwargs: None
    web.run_app(server.app, host="127.0.0.1", port=port, print=None, access_log=None)


def _exit_with_parent(parent: int) -> None:
    """The emulator belongs to the process that started it: it ends when that one does."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


LOWEST_PORT = 10_000


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server about to listen on it.

    Chosen below the kernel's ephemeral range: a port from that range (what binding to
    port 0 gives) can be taken by any outgoing connection — a pool's, a test's client —
    before the server binds it, and the server then fails to start.
    """
    below = _ephemeral_range()[0]
    chooser = random.SystemRandom()
    for _ in range(100 if below > LOWEST_PORT + 1_000 else 0):
        port = chooser.randrange(LOWEST_PORT, below)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        found: int = sock.getsockname()[1]
        return found


def _ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as limits:
            low, high = (int(part) for part in limits.read().split())
    except (OSError, ValueError):
        return 32_768, 60_999  # Linux's default
    return low, high


@dataclass
class RunningEmulator:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_emulator(
    timeout: float = 30.0, attempts: int = 3, port: int | None = None
) -> RunningEmulator:
    """Start the emulator in its own process and wait until it accepts connections.

    A free port can be taken by someone else between our probe and the emulator's
    bind; then the emulator exits and we try another port.
    """
    for attempt in range(attempts):
        try:
            return _start_once(timeout, port if attempt == 0 else None)
        except EmulatorExited:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


class EmulatorExited(RuntimeError):
    pass


def _start_once(timeout: float, port: int | None) -> RunningEmulator:
    port = port or free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.stripe_emulator",
            "--port",
            str(port),
            "--parent",
            str(os.getpid()),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorExited("the Stripe emulator exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return RunningEmulator(process, port)
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the Stripe emulator did not start in time")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, default=None, help="exit when this process ends")
    arguments = parser.parse_args()
    serve(arguments.port, arguments.parent)
