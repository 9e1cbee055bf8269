"""A Stripe stand-in for what localstripe lacks: incremental authorization.

Every request is passed to localstripe unchanged, except
``POST /v1/payment_intents/{id}/increment_authorization``, which answers in
Stripe's own wire format: the PaymentIntent with its new amount, or a 402
``card_declined`` error for intents the test marked as declining.
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

INCREMENT = re.compile(r"^/v1/payment_intents/(pi_\w+)/increment_authorization$")


@dataclass
class StandIn:
    url: str
    declines: set[str] = field(default_factory=set)
    increments: list[tuple[str, int, str | None]] = field(default_factory=list)
    # Every request the ledger sent to "Stripe", as (method, path): what its calls cost.
    calls: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def stripe_standin(upstream: str) -> Iterator[StandIn]:
    state = StandIn(url="")
    client = httpx.Client(base_url=upstream, timeout=30.0)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _forward(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.calls.append((method, self.path.split("?")[0]))
            match = INCREMENT.match(self.path.split("?")[0])
            if method == "POST" and match:
                return self._increment(match.group(1), body)
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() in ("authorization", "content-type")
            }
            answer = client.request(method, self.path, content=body, headers=headers)
            self._send(
                answer.status_code,
                answer.content,
                answer.headers.get("content-type", "application/json"),
            )
            return None

        def _increment(self, intent_id: str, body: bytes) -> None:
            amount = int(parse_qs(body.decode())["amount"][0])
            state.increments.append((intent_id, amount, self.headers.get("Idempotency-Key")))
            if intent_id in state.declines:
                error = {
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": "insufficient_funds",
                        "message": "Your card has insufficient funds.",
                    }
                }
                return self._send(402, json.dumps(error).encode())
            intent = client.get(
                f"/v1/payment_intents/{intent_id}",
                headers={"Authorization": self.headers["Authorization"]},
            ).json()
            intent["amount"] = amount
            intent["amount_capturable"] = amount
            return self._send(200, json.dumps(intent).encode())

        def do_GET(self) -> None:
            self._forward("GET")

        def do_POST(self) -> None:
            self._forward("POST")

        def do_DELETE(self) -> None:
            self._forward("DELETE")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        client.close()
