"""Fixtures of the js-sdk suite: the e2e servers' own localstripe fixture."""

from tests.e2e.conftest import stripe_emulator

__all__ = ["stripe_emulator"]
