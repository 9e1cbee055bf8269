"""A port for a test's server is free and outside the range outgoing connections take."""

import random
import socket

import pytest

from infra.stripe_emulator import LOWEST_PORT, _ephemeral_range, free_port


def test_a_free_port_is_below_the_ephemeral_range_and_can_be_listened_on() -> None:
    below = _ephemeral_range()[0]
    ports = {free_port() for _ in range(20)}
    assert all(LOWEST_PORT <= port < below for port in ports), ports
    assert len(ports) > 1  # chosen at random, so two servers started at once rarely collide
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.pop()))
        sock.listen()


def test_a_port_taken_is_not_given_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            untaken = probe.getsockname()[1]
        picks = iter([taken, taken, untaken])
        monkeypatch.setattr(random.SystemRandom, "randrange", lambda self, a, b: next(picks))
        assert free_port() == untaken
