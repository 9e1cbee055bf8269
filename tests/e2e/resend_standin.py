"""A local stand-in for Resend's ``POST /emails``, reached by the real SDK via RESEND_API_URL.

It answers ``{"id": "..."}`` with a JSON content type, records every request (with
its ``Idempotency-Key``), answers a repeated key with the first id as Resend does,
and can be told to fail for a recipient: once (a 429 with ``retry-after: 0``, say)
or always (a 500).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ERROR_NAMES = {429: "rate_limit_exceeded", 500: "application_error"}


@dataclass(frozen=True)
class Received:
    idempotency_key: str | None
    authorization: str | None
    payload: dict[str, Any]
    status: int

    @property
    def recipients(self) -> list[str]:
        return _recipients(self.payload)


@dataclass
class Failure:
    status: int
    times: int | None  # None: always
    retry_after: str | None


@dataclass
class ResendStandIn:
    url: str = ""
    received: list[Received] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_once(self, recipient: str, status: int, retry_after: str | None = "0") -> None:
        self.failures[recipient] = Failure(status, 1, retry_after)

    def fail_always(self, recipient: str, status: int, retry_after: str | None = "0") -> None:
        self.failures[recipient] = Failure(status, None, retry_after)

    def to(self, recipient: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if recipient in r.recipients]

    def delivered_to(self, recipient: str) -> list[Received]:
        """What reached the mailbox: one per idempotency key, as Resend delivers a repeated
        key once (a send repeated after the ledger could not record the first one)."""
        delivered: dict[str | None, Received] = {}
        for received in self.to(recipient):
            if received.status == 200 and (
                received.idempotency_key is None or received.idempotency_key not in delivered
            ):
                delivered[received.idempotency_key or f"no-key-{len(delivered)}"] = received
        return list(delivered.values())

    def answer(self, key: str | None, payload: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            failure = next(
                (self.failures[r] for r in _recipients(payload) if r in self.failures), None
            )
            if failure is not None and failure.times != 0:
                if failure.times is not None:
                    failure.times -= 1
                status = failure.status
                name = ERROR_NAMES.get(status, "application_error")
                headers = {"retry-after": failure.retry_after} if failure.retry_after else {}
                body: Any = {"statusCode": status, "name": name, "message": f"stand-in {status}"}
            else:
                status, headers = 200, {}
                message_id = self.ids.get(key or "") or str(uuid.uuid4())
                if key:
                    self.ids[key] = message_id
                body = {"id": message_id}
            return status, headers, body


def _recipients(payload: dict[str, Any]) -> list[str]:
    to = payload.get("to")
    return [to] if isinstance(to, str) else list(to or [])


@contextmanager
def resend_standin() -> Iterator[ResendStandIn]:
    state = ResendStandIn()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}")
            key = self.headers.get("Idempotency-Key")
            headers: dict[str, str] = {}
            if self.path != "/emails":
                status, body = 404, {"statusCode": 404, "name": "not_found"}
            else:
                status, headers, body = state.answer(key, payload)
            with state.lock:
                state.received.append(
                    Received(key, self.headers.get("Authorization"), payload, status)
                )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
