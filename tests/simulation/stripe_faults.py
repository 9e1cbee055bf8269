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
from typing import Literal

from tests.faults.stripe_money import stripe_error
from tests.stripe_passthrough import (
    HANG_UP,
    PASSED_HEADERS,
    Localstripe,
    StripeReply,
    StripeRequest,
    stripe_passthrough,
)

Mode = Literal["ok", "error", "timeout"]


@dataclass
class StripeSwitch:
    url: str = ""
    mode: Mode = "ok"
    refused: int = 0  # requests answered 500 or left hanging


@contextmanager
def stripe_switch(upstream: str, hang_seconds: float = 3.0) -> Iterator[StripeSwitch]:
    state = StripeSwitch()
    released = threading.Event()  # set at shutdown: hanging requests end at once

    def answer(request: StripeRequest, localstripe: Localstripe) -> StripeReply | None:
        mode = state.mode
        if mode == "ok":
            return None
        state.refused += 1
        if mode == "timeout":
            released.wait(hang_seconds)
            return HANG_UP
        return StripeReply(*stripe_error(500, "An unexpected error occurred.", "api_error"))

    with stripe_passthrough(
        upstream,
        answer,
        timeout=60.0,
        # The stand-in behind the switch replays by key: the key must reach it.
        passed_headers=(*PASSED_HEADERS, "idempotency-key"),
    ) as running:
        state.url = running.url
        try:
            yield state
        finally:
            released.set()
