"""Within one process, decisions on the same held aggregate take turns; others do not
wait, and a decision stuck behind another goes ahead on its own after a bound (issue 25)."""

import threading
from uuid import UUID, uuid4

from commands.aggregate_cache import DECIDING_STRIPES, AggregateCache


def another_stripe(than: UUID) -> UUID:
    while True:
        other = uuid4()
        if hash(other) % DECIDING_STRIPES != hash(than) % DECIDING_STRIPES:
            return other


def test_a_second_decision_on_a_held_level_waits_until_the_first_has_saved() -> None:
    cache, level = AggregateCache(), uuid4()
    entered = threading.Event()

    def second() -> None:
        with cache.deciding_on([level], wait=30):
            entered.set()

    with cache.deciding_on([level, uuid4()]):
        waiting = threading.Thread(target=second)
        waiting.start()
        assert not entered.wait(0.3), "decided on the level while the first decision held it"
    waiting.join(10)
    assert entered.is_set()


def test_decisions_on_other_levels_do_not_wait() -> None:
    cache, level = AggregateCache(), uuid4()
    other = another_stripe(level)
    entered = threading.Event()

    def elsewhere() -> None:
        with cache.deciding_on([other], wait=30):
            entered.set()

    with cache.deciding_on([level]):
        thread = threading.Thread(target=elsewhere)
        thread.start()
        assert entered.wait(10)
    thread.join(10)


def test_a_decision_stuck_behind_another_goes_ahead_after_its_wait() -> None:
    cache, level = AggregateCache(), uuid4()
    went_ahead = False
    with cache.deciding_on([level]), cache.deciding_on([level], wait=0):
        went_ahead = True
    assert went_ahead
    # Nothing stays taken: another thread is not kept waiting afterwards.
    entered = threading.Event()

    def later() -> None:
        with cache.deciding_on([level], wait=30):
            entered.set()

    thread = threading.Thread(target=later)
    thread.start()
    thread.join(10)
    assert entered.is_set()
