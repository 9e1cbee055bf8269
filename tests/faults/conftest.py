"""Fixtures for the fault-injection suite: the Stripe emulator and a Redis db of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import stripe_emulator  # noqa: F401  (a session fixture, re-used)
from tests.faults.faithful_stripe import FaithfulStripe, faithful_stripe

FAULTS_REDIS_DB = 11


@pytest.fixture(scope="session")
def faults_redis_url() -> Iterator[str]:
    """Redis database 11 of the shared server, flushed at the start (never another db)."""
    configured = os.environ.get("REDIS_URL")
    parts = urlsplit(configured or "redis://127.0.0.1:6379/0")
    url = urlunsplit((parts.scheme, parts.netloc, f"/{FAULTS_REDIS_DB}", parts.query, ""))
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as error:
        message = f"Redis at {parts.hostname}:{parts.port or 6379} does not answer: {error}"
        if configured or os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    try:
        client.flushdb()
        yield url
    finally:
        client.close()


@pytest.fixture(scope="session")
def faithful(stripe_emulator: RunningEmulator) -> Iterator[FaithfulStripe]:  # noqa: F811
    """localstripe behind a stand-in that refuses to capture a canceled PaymentIntent."""
    with faithful_stripe(stripe_emulator.url) as stand_in:
        yield stand_in


@pytest.fixture(scope="session")
def emulator(stripe_emulator: RunningEmulator, faithful: FaithfulStripe) -> RunningEmulator:  # noqa: F811
    """What the fault suite's servers talk to as Stripe: the faithful stand-in."""
    return faithful.as_emulator(stripe_emulator)
