"""localstripe, with two of Stripe's rules it lacks, and a record of every capture call.

localstripe captures a PaymentIntent that was canceled (Stripe answers 400
``payment_intent_unexpected_state``) and ignores ``Idempotency-Key`` (Stripe
answers a retried request with the first answer). This stand-in forwards every
request to localstripe unchanged except captures and cancellations, which it
serializes, checks against the PaymentIntent's status, and replays by key.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import httpx

from infra.stripe_emulator import RunningEmulator
from tests.faults.stripe_money import StripeMoney

ACTION = re.compile(r"^/v1/payment_intents/(pi_\w+)/(capture|cancel)$")
CAPTURABLE = {"capture": ("requires_capture",)}
CANCELABLE = (
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
)


@dataclass
class Capture:
    intent_id: str
    idempotency_key: str | None
    status: int  # what the caller was answered
    replayed: bool
    amount: int | None  # amount_to_capture, when the request named one


@dataclass
class FaithfulStripe:
    url: str = ""
    port: int = 0
    captures: list[Capture] = field(default_factory=list)
    # Lists, refunds, disputes and acts "at Stripe" (see stripe_money); set when serving.
    money: StripeMoney = field(default_factory=lambda: StripeMoney(upstream=_no_upstream))

    def successful_captures(self, intent_id: str) -> list[Capture]:
        """Captures that charged the card (a replay by key charges nothing again)."""
        return [
            c
            for c in self.captures
            if c.intent_id == intent_id and c.status == 200 and not c.replayed
        ]

    def as_emulator(self, emulator: RunningEmulator) -> RunningEmulator:
        """The emulator's handle with this stand-in's port (only ``url`` is ever read)."""
        return RunningEmulator(process=emulator.process, port=self.port)


def _no_upstream(method: str, path: str, body: bytes) -> httpx.Response:
    raise RuntimeError("the stand-in is not serving")


def _unexpected_state(intent_id: str, status: str, action: str) -> bytes:
    return json.dumps(
        {
            "error": {
                "type": "invalid_request_error",
                "code": "payment_intent_unexpected_state",
                "message": f"This PaymentIntent could not be {action}d because it has a "
                f"status of {status}.",
                "param": "",
            }
        }
    ).encode()


def _amount(body: bytes) -> int | None:
    values = parse_qs(body.decode()).get("amount_to_capture")
    return int(values[0]) if values else None


@contextmanager
def faithful_stripe(upstream: str) -> Iterator[FaithfulStripe]:
    state = FaithfulStripe()
    client = httpx.Client(base_url=upstream, timeout=30.0)
    serial = threading.Lock()
    replies: dict[tuple[str, str], tuple[int, bytes]] = {}
    auth = {"Authorization": "Bearer sk_test_standin"}

    def to_localstripe(method: str, path: str, body: bytes) -> httpx.Response:
        headers = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
        return client.request(method, path, content=body, headers=headers)

    state.money = StripeMoney(upstream=to_localstripe)

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

        def _upstream(self, method: str, body: bytes) -> httpx.Response:
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() in ("authorization", "content-type", "stripe-version")
            }
            return client.request(method, self.path, content=body, headers=headers)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            own = state.money.answer(method, path, query, body)
            if own is not None:
                return self._send(*own)
            match = ACTION.match(path)
            if method != "POST" or match is None:
                answer = self._upstream(method, body)
                content = state.money.seen(method, path, answer.status_code, answer.content)
                return self._send(answer.status_code, content)
            intent_id, action = match.groups()
            key = self.headers.get("Idempotency-Key")
            with serial:
                if key is not None and (action, key) in replies:
                    status, content = replies[(action, key)]
                    if action == "capture":
                        state.captures.append(Capture(intent_id, key, status, True, _amount(body)))
                    return self._send(status, content)
                current = client.get(
                    f"/v1/payment_intents/{intent_id}",
                    headers={"Authorization": self.headers.get("Authorization", "")},
                )
                allowed = CAPTURABLE["capture"] if action == "capture" else CANCELABLE
                intent_status = current.json().get("status", "") if current.is_success else ""
                if current.is_success and intent_status not in allowed:
                    status, content = 400, _unexpected_state(intent_id, intent_status, action)
                else:
                    answer = self._upstream(method, body)
                    status, content = answer.status_code, answer.content
                content = state.money.seen(method, path, status, content, body)
                if key is not None and status == 200:
                    replies[(action, key)] = (status, content)
                if action == "capture":
                    state.captures.append(Capture(intent_id, key, status, False, _amount(body)))
            return self._send(status, content)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = int(server.server_address[1])
    state.url = f"http://127.0.0.1:{state.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        client.close()
