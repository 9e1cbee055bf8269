"""The Review: a rating from 1 to 5 and bounded text, shown once approved; one per order."""

from uuid import UUID, uuid4

import pytest

from domain.review import APPROVED, PENDING, REJECTED, InvalidReview, Review
from tests.unit.domain.builders import NOW, later, new_event_types, replay, state

ORDER = UUID("5b1f0c9e-8d63-4a47-9a57-0d7c5a1e2f33")


def submit(**fields: object) -> Review:
    values: dict[str, object] = {
        "product_id": "tee",
        "rating": 4,
        "title": "Good",
        "body": "Fits well.",
        "author_name": "Ada",
        "order_id": None,
        "fresh_id": uuid4(),
        "now": NOW,
        **fields,
    }
    return Review.submit(**values)  # type: ignore[arg-type]


def test_a_submitted_review_waits_for_moderation() -> None:
    review = submit()

    assert review.status == PENDING
    assert review.verified is False
    assert new_event_types(review) == ["Submitted"]


@pytest.mark.parametrize("rating", [0, 6, -1, 4.5, "5", True, None])
def test_a_rating_is_a_whole_number_from_one_to_five(rating: object) -> None:
    with pytest.raises(InvalidReview):
        submit(rating=rating)


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "t" * 201},
        {"body": "b" * 5001},
        {"author_name": "n" * 101},
        {"author_name": "  "},
        {"body": "a NUL \x00 byte"},
        {"title": "a bell \x07"},
        {"body": "a lone surrogate \ud800"},
    ],
)
def test_text_is_bounded_and_free_of_control_characters(fields: dict[str, str]) -> None:
    with pytest.raises(InvalidReview):
        submit(**fields)


def test_text_is_kept_exactly_as_written() -> None:
    review = submit(title="<b>Great</b> & cheap", body="line one\nline two\ttabbed")

    assert review.title == "<b>Great</b> & cheap"
    assert review.body == "line one\nline two\ttabbed"


def test_a_review_naming_its_order_is_verified_and_its_id_follows_from_product_and_order() -> None:
    first = submit(order_id=ORDER)
    second = submit(order_id=ORDER, rating=1)

    assert first.verified is True
    assert first.id == second.id == Review.id_for("tee", ORDER)
    assert submit(order_id=ORDER, product_id="mug").id != first.id


def test_reviews_without_an_order_take_the_id_they_are_given() -> None:
    fresh = uuid4()
    assert submit(fresh_id=fresh).id == fresh


def test_approving_or_rejecting_twice_records_it_once() -> None:
    review = submit()
    review.approve(moderated_by="admin", now=later(minutes=1))
    review.approve(moderated_by="admin", now=later(minutes=2))
    assert review.status == APPROVED

    review.reject(reason="spam", moderated_by="admin", now=later(minutes=3))
    review.reject(reason="spam", moderated_by="admin", now=later(minutes=4))
    assert review.status == REJECTED
    assert new_event_types(review) == ["Submitted", "Approved", "Rejected"]


def test_a_replayed_review_equals_the_original() -> None:
    review = submit(order_id=ORDER)
    review.approve(moderated_by="admin", now=later(minutes=1))

    assert state(replay(review.pending_events)) == state(review)
