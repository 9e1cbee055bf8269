"""A Stripe stand-in for what localstripe lacks: incremental authorization.

Every request is passed to localstripe unchanged, except
``POST /v1/payment_intents/{id}/increment_authorization``, which answers in
Stripe's own wire format: the PaymentIntent with its new amount, or a 402
``card_declined`` error for intents the test marked as declining.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from tests.stripe_passthrough import Localstripe, StripeReply, StripeRequest, stripe_passthrough

INCREMENT = re.compile(r"^/v1/payment_intents/(pi_\w+)/increment_authorization$")
DECLINED = {
    "error": {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds.",
    }
}


@dataclass
class StandIn:
    url: str
    declines: set[str] = field(default_factory=set)
    increments: list[tuple[str, int, str | None]] = field(default_factory=list)
    # Every request the ledger sent to "Stripe", as (method, path): what its calls cost.
    calls: list[tuple[str, str]] = field(default_factory=list)

    def answer(self, request: StripeRequest, localstripe: Localstripe) -> StripeReply | None:
        self.calls.append((request.method, request.path))
        match = INCREMENT.match(request.path)
        if request.method != "POST" or match is None:
            return None
        intent_id = match.group(1)
        amount = int(parse_qs(request.body.decode())["amount"][0])
        self.increments.append((intent_id, amount, request.headers.get("Idempotency-Key")))
        if intent_id in self.declines:
            return StripeReply(402, json.dumps(DECLINED).encode())
        intent = localstripe.intent(intent_id, request.headers["Authorization"]).json()
        intent["amount"] = amount
        intent["amount_capturable"] = amount
        return StripeReply(200, json.dumps(intent).encode())


@contextmanager
def stripe_standin(upstream: str) -> Iterator[StandIn]:
    state = StandIn(url="")
    with stripe_passthrough(
        upstream,
        state.answer,
        passed_headers=("authorization", "content-type"),
        keep_alive=False,
    ) as running:
        state.url = running.url
        yield state
