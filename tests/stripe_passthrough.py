"""The one Stripe stand-in: an HTTP server in front of localstripe.

Every request the ledger's Stripe SDK sends is passed to localstripe unchanged, unless
the stand-in's ``rule`` answers it first, in Stripe's own wire format. The test suites'
stand-ins (``tests.e2e.stripe_standin``, ``tests.faults.faithful_stripe``,
``tests.simulation.stripe_faults``) are rules over this server, each adding what
localstripe lacks or the faults a test needs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# What the SDK sends that localstripe reads; everything else stays at the stand-in.
PASSED_HEADERS = ("authorization", "content-type", "stripe-version")


@dataclass(frozen=True)
class StripeRequest:
    method: str
    path: str  # without the query string
    query: str
    body: bytes
    headers: Message

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path


@dataclass(frozen=True)
class StripeReply:
    status: int
    body: bytes
    content_type: str = "application/json"


# A reply the stand-in never sends: the connection is closed unanswered (a lost answer).
HANG_UP = StripeReply(status=0, body=b"")


class Localstripe:
    """localstripe, as the stand-in reaches it."""

    def __init__(self, url: str, *, timeout: float, passed_headers: tuple[str, ...]) -> None:
        self.client = httpx.Client(base_url=url, timeout=timeout)
        self.passed_headers = passed_headers

    def pass_on(self, request: StripeRequest) -> StripeReply:
        """The request as the SDK sent it (with its own key), localstripe's answer."""
        headers = {k: v for k, v in request.headers.items() if k.lower() in self.passed_headers}
        answer = self.client.request(
            request.method, request.target, content=request.body, headers=headers
        )
        return StripeReply(
            answer.status_code,
            answer.content,
            answer.headers.get("content-type", "application/json"),
        )

    def intent(self, intent_id: str, authorization: str) -> httpx.Response:
        """The PaymentIntent as localstripe has it now, read with the caller's key."""
        return self.client.get(
            f"/v1/payment_intents/{intent_id}", headers={"Authorization": authorization}
        )


# Answers a request itself, or returns None to pass it on to localstripe.
Rule = Callable[[StripeRequest, Localstripe], StripeReply | None]


@dataclass
class RunningStandIn:
    url: str
    port: int
    localstripe: Localstripe


@contextmanager
def stripe_passthrough(
    upstream: str,
    rule: Rule | None = None,
    *,
    timeout: float = 30.0,
    passed_headers: tuple[str, ...] = PASSED_HEADERS,
    keep_alive: bool = True,
) -> Iterator[RunningStandIn]:
    """A stand-in on 127.0.0.1 and a free port: ``rule`` answers a request, or returns None
    and the request goes on to localstripe at ``upstream``."""
    localstripe = Localstripe(upstream, timeout=timeout, passed_headers=passed_headers)

    class Handler(BaseHTTPRequestHandler):
        if keep_alive:
            protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            request = StripeRequest(method, path, query, body, self.headers)
            reply = rule(request, localstripe) if rule is not None else None
            if reply is None:
                reply = localstripe.pass_on(request)
            if reply is HANG_UP:
                self.close_connection = True
                return
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RunningStandIn(url=f"http://127.0.0.1:{port}", port=port, localstripe=localstripe)
    finally:
        server.shutdown()
        server.server_close()
        localstripe.client.close()
