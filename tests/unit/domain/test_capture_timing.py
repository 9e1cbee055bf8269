"""The capture timing rules (domain/capture_timing.py), each in one function."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.capture_timing import (
    CapturePolicy,
    capture_due_at,
    editable_until,
    is_due,
    is_final_attempt,
    lapses_at,
    next_attempt_at,
    retry_delay,
)

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
POLICY = CapturePolicy(grace=timedelta(hours=1))


def test_given_an_order_placed_when_asked_its_grace_end_then_it_is_the_grace_later() -> None:
    assert editable_until(POLICY, T0) == T0 + timedelta(hours=1)


def test_given_a_fresh_authorization_then_the_capture_is_due_at_the_grace_end() -> None:
    assert capture_due_at(POLICY, T0, None) == T0 + timedelta(hours=1)


def test_given_a_lapse_before_the_grace_end_then_capture_comes_a_margin_before_it() -> None:
    lapse = T0 + timedelta(hours=12, minutes=30)
    policy = CapturePolicy(grace=timedelta(days=2))
    assert capture_due_at(policy, T0, lapse) == T0 + timedelta(minutes=30)


def test_given_stripe_silent_then_the_authorization_lapses_after_seven_days() -> None:
    assert lapses_at(T0, None) == T0 + timedelta(days=7)
    assert lapses_at(T0, T0 + timedelta(days=2)) == T0 + timedelta(days=2)
    long = CapturePolicy(grace=timedelta(days=30))
    assert capture_due_at(long, T0, None) == T0 + timedelta(days=7) - timedelta(hours=12)


def test_due_from_the_due_time_on_and_never_without_one() -> None:
    assert not is_due(None, T0)
    assert not is_due(T0 + timedelta(seconds=1), T0)
    assert is_due(T0, T0)
    assert is_due(T0 - timedelta(seconds=1), T0)


def test_backoff_doubles_from_five_seconds_up_to_ten_minutes() -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 8, 30)] == [
        5,
        10,
        20,
        40,
        600,
        600,
    ]
    assert next_attempt_at(0, T0) is None
    assert next_attempt_at(2, T0) == T0 + timedelta(seconds=10)


def test_the_fifth_failure_is_final() -> None:
    assert [is_final_attempt(POLICY, n) for n in range(6)] == [False] * 4 + [True] * 2


@given(
    grace=st.integers(min_value=1, max_value=30 * 24 * 3600),
    lapse_after=st.one_of(st.none(), st.integers(min_value=13 * 3600, max_value=30 * 24 * 3600)),
)
def test_capture_is_never_after_the_grace_end_nor_within_the_margin_of_a_lapse(
    grace: int, lapse_after: int | None
) -> None:
    policy = CapturePolicy(grace=timedelta(seconds=grace))
    before = None if lapse_after is None else T0 + timedelta(seconds=lapse_after)
    due = capture_due_at(policy, T0, before)
    assert due <= editable_until(policy, T0)
    assert due <= lapses_at(T0, before) - policy.expiry_margin
