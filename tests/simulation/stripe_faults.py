"""A switch in front of the Stripe stand-in: answers 500, or hangs past the SDK's timeout.

Everything the servers send to Stripe passes here; while ``mode`` is ``"ok"`` a request
is forwarded unchanged to the stand-in (which keeps Stripe's rules and records). The
simulation's own acts "at Stripe" go to the stand-in directly, never through the switch.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import httpx

from tests.faults.stripe_money import stripe_error

Mode = Literal["ok", "error", "timeout"]


@dataclass
class StripeSwitch:
    url: str = ""
    mode: Mode = "ok"
    refused: int = 0  # requests answered 500 or left hanging


@contextmanager
def stripe_switch(upstream: str, hang_seconds: float = 3.0) -> Iterator[StripeSwitch]:
    state = StripeSwitch()
    client = httpx.Client(base_url=upstream, timeout=60.0)
    released = threading.Event()  # set at shutdown: hanging requests end at once

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            mode = state.mode
            if mode != "ok":
                state.refused += 1
                if mode == "timeout":
                    released.wait(hang_seconds)
                    self.close_connection = True
                    return
                return self._send(*stripe_error(500, "An unexpected error occurred.", "api_error"))
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower()
                in ("authorization", "content-type", "stripe-version", "idempotency-key")
            }
            answer = client.request(method, self.path, content=body, headers=headers)
            self._send(answer.status_code, answer.content)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        released.set()
        server.shutdown()
        server.server_close()
        client.close()
