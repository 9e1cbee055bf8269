"""The storefront's average rating: rounded half up to two decimals, from whole numbers."""

from queries.api.reviews import average


def test_no_reviews_have_no_average() -> None:
    assert average({}) is None


def test_the_average_is_rounded_half_up_to_two_decimals() -> None:
    assert average({5: 1, 4: 2}) == 4.33
    assert average({5: 2, 4: 1}) == 4.67
    assert average({1: 1, 2: 1}) == 1.5
    assert average({3: 7}) == 3.0
    assert average({5: 1, 4: 7}) == 4.13  # 4.125 rounds up
