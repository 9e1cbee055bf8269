"""One primary + streaming standby per test module (``tests.replicas.cluster``)."""

from tests.e2e.conftest import stripe_emulator  # noqa: F401  (a session fixture, re-used)
