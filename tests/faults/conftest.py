"""Fixtures for the fault-injection suite: the Stripe emulator and a Redis db of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.stripe_emulator import RunningEmulator
from tests.conftest import redis_database
from tests.e2e.conftest import stripe_emulator  # noqa: F401  (a session fixture, re-used)
from tests.faults.faithful_stripe import FaithfulStripe, faithful_stripe

FAULTS_REDIS_DB = 11


@pytest.fixture(scope="session")
def faults_redis_url() -> Iterator[str]:
    """Redis database 11 of the shared server, flushed at the start (never another db)."""
    with redis_database(FAULTS_REDIS_DB) as url:
        yield url


@pytest.fixture(scope="session")
def faithful(stripe_emulator: RunningEmulator) -> Iterator[FaithfulStripe]:  # noqa: F811
    """localstripe behind a stand-in that refuses to capture a canceled PaymentIntent."""
    with faithful_stripe(stripe_emulator.url) as stand_in:
        yield stand_in


@pytest.fixture(scope="session")
def emulator(stripe_emulator: RunningEmulator, faithful: FaithfulStripe) -> RunningEmulator:  # noqa: F811
    """What the fault suite's servers talk to as Stripe: the faithful stand-in."""
    return faithful.as_emulator(stripe_emulator)
