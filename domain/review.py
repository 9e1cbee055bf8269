"""A customer's review of a product: submitted, then approved or rejected by the shop.

Text is kept exactly as written (no HTML is interpreted or stripped here): whoever
renders a review must escape it.
"""

import unicodedata
from collections.abc import Collection
from datetime import datetime
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidRequestValue
from domain.ids import NAMESPACE
from domain.order import CANCELED

PENDING: Final = "pending"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"

MAX_TITLE: Final = 200
MAX_BODY: Final = 5000
MAX_AUTHOR_NAME: Final = 100
MAX_REASON: Final = 500

# Author names the shop's own labels use, compared on letters and digits, case-folded
# ("Verified Buyer", "verified-buyer ✓", "ADMIN"): a reviewer must not pass for a badge
# or for staff. A name holding one of RESERVED_WORDS anywhere is reserved too.
RESERVED_AUTHOR_NAMES: Final = frozenset(
    {"admin", "administrator", "moderator", "staff", "shop", "shopowner", "support", "official"}
)
RESERVED_WORDS: Final = ("verified", "orderledger")

# Line breaks and tabs are text; other control characters (NUL above all, which
# PostgreSQL text cannot hold) are not.
_ALLOWED_CONTROLS: Final = frozenset("\n\r\t")


class InvalidReview(InvalidRequestValue):
    """A rating or text outside what a review may hold."""


class Review(Aggregate):
    """Holds: 1 <= rating <= 5; bounded text; shown only once approved."""

    class Submitted(Aggregate.Created):
        product_id: str
        order_id: UUID | None
        verified: bool
        rating: int
        title: str
        body: str
        author_name: str

    class Approved(Aggregate.Event):
        moderated_by: str

        def apply(self, review: "Review") -> None:
            review.status = APPROVED

    class VerificationChanged(Aggregate.Event):
        """The order the review names no longer (or again) holds the product."""

        verified: bool
        reason: str

        def apply(self, review: "Review") -> None:
            review.verified = self.verified

    class Rejected(Aggregate.Event):
        reason: str
        moderated_by: str

        def apply(self, review: "Review") -> None:
            review.status = REJECTED

    def __init__(
        self,
        product_id: str,
        order_id: UUID | None,
        verified: bool,
        rating: int,
        title: str,
        body: str,
        author_name: str,
    ) -> None:
        self.product_id = product_id
        self.order_id = order_id
        self.verified = verified
        self.rating = rating
        self.title = title
        self.body = body
        self.author_name = author_name
        self.status = PENDING

    @classmethod
    def submit(
        cls,
        *,
        product_id: str,
        rating: int,
        title: str,
        body: str,
        author_name: str,
        order_id: UUID | None,
        fresh_id: UUID,
        now: datetime,
    ) -> "Review":
        """Submit a review, pending moderation.

        A verified review (one naming the order it was bought in) takes the id of
        (product, order), so a second review of the product from that order collides
        in the store; any other review takes ``fresh_id``.
        """
        _check_rating(rating)
        _check_text("title", title, MAX_TITLE)
        _check_text("body", body, MAX_BODY)
        _check_text("author_name", author_name, MAX_AUTHOR_NAME)
        if not author_name.strip():
            raise InvalidReview("author_name must not be blank.")
        _check_author_name(author_name)
        return cls._create(
            cls.Submitted,
            id=cls.id_for(product_id, order_id) if order_id is not None else fresh_id,
            timestamp=now,
            product_id=product_id,
            order_id=order_id,
            verified=order_id is not None,
            rating=rating,
            title=title,
            body=body,
            author_name=author_name,
        )

    def approve(self, *, moderated_by: str, now: datetime) -> None:
        if self.status != APPROVED:
            self.trigger_event(self.Approved, timestamp=now, moderated_by=moderated_by)

    def reject(self, *, reason: str, moderated_by: str, now: datetime) -> None:
        _check_text("reason", reason, MAX_REASON)
        if self.status != REJECTED:
            self.trigger_event(
                self.Rejected, timestamp=now, reason=reason, moderated_by=moderated_by
            )

    def reassess(self, *, still_bought: bool, reason: str, now: datetime) -> None:
        """A review naming an order is verified exactly while that order still bought it."""
        if self.order_id is None or still_bought == self.verified:
            return
        self.trigger_event(
            self.VerificationChanged, timestamp=now, verified=still_bought, reason=reason
        )

    @staticmethod
    def id_for(product_id: str, order_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"review:{product_id}:{order_id}")


def is_verified_purchase(
    order_status: str, bought_product_ids: Collection[str], product_id: str
) -> bool:
    """The one rule: an order that is not canceled and still holds a line of the product."""
    return order_status != CANCELED and product_id in bought_product_ids


def _check_rating(rating: int) -> None:
    if type(rating) is not int or not 1 <= rating <= 5:
        raise InvalidReview("rating must be a whole number from 1 to 5.")


def _check_text(name: str, text: str, limit: int) -> None:
    if type(text) is not str:
        raise InvalidReview(f"{name} must be text.")
    if len(text) > limit:
        raise InvalidReview(f"{name} has at most {limit} characters.")
    if any(_unfit(ch) for ch in text):
        raise InvalidReview(f"{name} contains control characters or invalid Unicode.")


def _check_author_name(name: str) -> None:
    """A reviewer may not pass for the shop or for the verified-purchase badge."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())
    if folded in RESERVED_AUTHOR_NAMES or any(word in folded for word in RESERVED_WORDS):
        raise InvalidReview(f"author_name {name!r} is reserved; choose another name.")


def _unfit(ch: str) -> bool:
    # Lone surrogates (JSON can carry "\\ud800") cannot be encoded as UTF-8 at all.
    return (ch < " " and ch not in _ALLOWED_CONTROLS) or ch == "\x7f" or "\ud800" <= ch <= "\udfff"
