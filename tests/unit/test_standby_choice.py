"""Where a read goes: this process's standby while it is up and close behind, another
standby, else the primary; a standby's lag is the age of the oldest primary WAL position
it has not replayed."""

from __future__ import annotations

import time

from infra.read_replicas import Standbys

URLS = [f"postgresql://r@standby-{n}:5432/shop" for n in range(3)]


def standbys(count: int = 3, max_lag: float = 1.0) -> Standbys:
    found = Standbys("postgresql://w@primary:5432/shop", URLS[:count], max_lag_seconds=max_lag)
    for index in range(count):
        found.up[index], found.lag_seconds[index] = True, 0.0
    return found


def test_each_process_prefers_its_own_standby_and_keeps_to_it() -> None:
    choice = standbys()

    first = choice.usable()

    assert first == choice.preference[0]
    assert sorted(choice.preference) == [0, 1, 2]
    assert all(choice.usable() == first for _ in range(10))


def test_a_standby_behind_the_bound_or_down_is_left_out() -> None:
    choice = standbys()
    mine, second, third = choice.preference

    choice.lag_seconds[mine] = 1.5
    assert choice.usable() == second
    choice.failed(second, OSError("gone"))
    assert choice.usable() == third
    assert choice.fallbacks[second] == 1
    choice.up[third] = False
    assert choice.usable() is None  # the primary


def test_lag_is_the_age_of_the_oldest_primary_position_not_yet_replayed() -> None:
    choice = standbys(1)
    now = time.monotonic()
    choice._samples.extend([(now - 3.0, 100), (now - 2.0, 200), (now - 1.0, 300)])

    assert choice._lag(300) == 0.0  # everything replayed
    assert 1.9 < choice._lag(150) < 2.5  # 200 was written 2 s ago and is not replayed
    assert 2.9 < choice._lag(50) < 3.5


def test_no_standbys_means_the_primary() -> None:
    assert Standbys("postgresql://w@primary/shop", [], max_lag_seconds=1).usable() is None
