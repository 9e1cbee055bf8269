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
from urllib.parse import parse_qs

import httpx

from infra.stripe_emulator import RunningEmulator
from tests.faults.stripe_money import StripeMoney
from tests.stripe_passthrough import Localstripe, StripeReply, StripeRequest, stripe_passthrough

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


class _Rules:
    """Captures and cancellations serialized, checked against the intent's status and
    replayed by key; everything else passed on, and all of it shown to ``money``."""

    def __init__(self, state: FaithfulStripe) -> None:
        self.state = state
        self.serial = threading.Lock()
        self.replies: dict[tuple[str, str], tuple[int, bytes]] = {}

    def answer(self, request: StripeRequest, localstripe: Localstripe) -> StripeReply:
        money = self.state.money
        own = money.answer(request.method, request.path, request.query, request.body)
        if own is not None:
            return StripeReply(*own)
        match = ACTION.match(request.path)
        if request.method != "POST" or match is None:
            answer = localstripe.pass_on(request)
            content = money.seen(request.method, request.path, answer.status, answer.body)
            return StripeReply(answer.status, content)
        intent_id, action = match.groups()
        with self.serial:
            return StripeReply(*self._act(request, localstripe, intent_id, action))

    def _act(
        self, request: StripeRequest, localstripe: Localstripe, intent_id: str, action: str
    ) -> tuple[int, bytes]:
        key = request.headers.get("Idempotency-Key")
        captures = self.state.captures
        if key is not None and (action, key) in self.replies:
            status, content = self.replies[(action, key)]
            if action == "capture":
                captures.append(Capture(intent_id, key, status, True, _amount(request.body)))
            return status, content
        current = localstripe.intent(intent_id, request.headers.get("Authorization", ""))
        allowed = CAPTURABLE["capture"] if action == "capture" else CANCELABLE
        intent_status = current.json().get("status", "") if current.is_success else ""
        if current.is_success and intent_status not in allowed:
            status, content = 400, _unexpected_state(intent_id, intent_status, action)
        else:
            answer = localstripe.pass_on(request)
            status, content = answer.status, answer.body
        content = self.state.money.seen(request.method, request.path, status, content, request.body)
        if key is not None and status == 200:
            self.replies[(action, key)] = (status, content)
        if action == "capture":
            captures.append(Capture(intent_id, key, status, False, _amount(request.body)))
        return status, content


@contextmanager
def faithful_stripe(upstream: str) -> Iterator[FaithfulStripe]:
    state = FaithfulStripe()
    with stripe_passthrough(upstream, _Rules(state).answer) as running:
        auth = {"Authorization": "Bearer sk_test_standin"}

        def to_localstripe(method: str, path: str, body: bytes) -> httpx.Response:
            headers = {**auth, "Content-Type": "application/x-www-form-urlencoded"}
            return running.localstripe.client.request(method, path, content=body, headers=headers)

        state.money = StripeMoney(upstream=to_localstripe)
        state.port = running.port
        state.url = running.url
        yield state
