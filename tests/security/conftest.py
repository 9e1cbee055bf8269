"""Fixtures of the security tests: the session's localstripe, and for the domain-level
findings a server of each module's own with every Stripe call counted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import stripe_emulator as stripe_emulator  # the session's localstripe
from tests.security.domain_shop import Probe, probe_server


@pytest.fixture(scope="module")
def probe(database_url: str, redis_url: str, stripe_emulator: RunningEmulator) -> Iterator[Probe]:
    with probe_server(database_url, redis_url, stripe_emulator) as probe:
        yield probe
