"""A review naming an order is verified exactly while that order still bought the product."""

from uuid import UUID, uuid4

from domain.order import CANCELED, CAPTURED, PLACED
from domain.review import Review, is_verified_purchase, may_name_purchase
from tests.unit.domain.builders import NOW, later, new_event_types, replay, state

ORDER = UUID("5b1f0c9e-8d63-4a47-9a57-0d7c5a1e2f33")


def verified_review() -> Review:
    return Review.submit(
        product_id="tee",
        rating=5,
        title="Good",
        body="Fits.",
        author_name="Ada",
        order_id=ORDER,
        fresh_id=uuid4(),
        now=NOW,
    )


def test_the_rule_needs_the_product_in_a_captured_order() -> None:
    assert is_verified_purchase(CAPTURED, {"tee", "mug"}, "tee")
    assert not is_verified_purchase(PLACED, {"tee"}, "tee")  # in the grace period: not yet
    assert not is_verified_purchase(CAPTURED, {"mug"}, "tee")
    assert not is_verified_purchase(CANCELED, {"tee"}, "tee")


def test_a_placed_order_may_be_named_by_a_review_that_is_verified_at_capture() -> None:
    assert may_name_purchase(PLACED, {"tee"}, "tee")
    assert may_name_purchase(CAPTURED, {"tee"}, "tee")
    assert not may_name_purchase(PLACED, {"mug"}, "tee")
    assert not may_name_purchase(CANCELED, {"tee"}, "tee")
    pending = Review.submit(
        product_id="tee",
        rating=4,
        title="",
        body="",
        author_name="Ada",
        order_id=ORDER,
        fresh_id=uuid4(),
        now=NOW,
        verified=False,
    )
    assert pending.verified is False
    pending.reassess(still_bought=True, reason="order captured", now=later(minutes=61))
    assert pending.verified is True


def test_a_review_loses_and_regains_verification_with_its_order() -> None:
    review = verified_review()
    review.reassess(still_bought=False, reason="line removed", now=later(minutes=1))
    assert review.verified is False
    review.reassess(still_bought=False, reason="again", now=later(minutes=2))
    review.reassess(still_bought=True, reason="line added back", now=later(minutes=3))
    assert review.verified is True
    assert new_event_types(review).count("VerificationChanged") == 2
    assert state(replay(review.collect_events())) == state(review)


def test_an_anonymous_review_is_never_made_verified() -> None:
    review = Review.submit(
        product_id="tee",
        rating=5,
        title="",
        body="",
        author_name="Bo",
        order_id=None,
        fresh_id=uuid4(),
        now=NOW,
    )
    review.reassess(still_bought=True, reason="-", now=NOW)
    assert review.verified is False and new_event_types(review) == ["Submitted"]
