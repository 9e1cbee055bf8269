"""The simulation's short run, inside ``make test``: a fixed seed and a fresh one each time.

Given a shop with every real part on 127.0.0.1, when a seeded mix of shop operations and
faults runs, then the oracle finds nothing after every phase and at the end. A failure
names its seed and the operation log to replay.
"""

from __future__ import annotations

import random

import pytest

from tests.simulation.run import execute, from_seed

FIXED_SEED = 1
SHORT_RUN = 60  # operations: one phase and the final check (about a minute here)


def run_short(database_url: str, seed: int) -> None:
    print(f"simulation seed {seed}")
    outcome = execute(database_url, seed, from_seed(seed, SHORT_RUN, None))
    replay = " ".join(str(op) for op in outcome.log)
    assert outcome.ok, (
        f"seed {seed} failed: {outcome.failure}\n"
        f"replay: python -m tests.simulation --seed {seed} --operations {len(outcome.log)}\n"
        f"operation log: {replay}"
    )
    assert sum(outcome.model.checks.values()) >= 7, outcome.model.checks


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_shop_life_on_the_fixed_seed_keeps_every_invariant(database_url: str) -> None:
    run_short(database_url, FIXED_SEED)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_shop_life_on_a_fresh_seed_keeps_every_invariant(database_url: str) -> None:
    run_short(database_url, random.SystemRandom().randrange(1 << 31))
