"""A call to Stripe ends before the order's lock would free the order for another process.

Given Stripe that accepts a connection and never answers, When the SDK client we build
calls it, Then the call gives up after our timeout (not the SDK's 80 s a try); and the
longest call our settings allow, every try timing out, is shorter than the lock's TTL.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import stripe

from infra.locks import TTL_SECONDS
from infra.stripe_gateway import longest_call_seconds, stripe_client

# What else a holder of the order's lock may do around the call: its reads and its save.
REST_OF_THE_WORK_SECONDS = 30


def test_the_longest_call_ends_within_the_orders_lock() -> None:
    assert longest_call_seconds() + REST_OF_THE_WORK_SECONDS < TTL_SECONDS


@pytest.fixture
def silent_stripe() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not done.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        done.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()


@pytest.mark.timeout(30)
def test_a_silent_stripe_is_given_up_on_after_our_timeout(silent_stripe: str) -> None:
    client = stripe_client("sk_test_silent", silent_stripe, timeout=(1.0, 1.0), retries=0)
    with pytest.raises(stripe.APIConnectionError):
        client.v1.payment_intents.retrieve("pi_silent")
