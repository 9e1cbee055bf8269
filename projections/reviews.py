"""Product reviews: one row per review with its moderation status.

The storefront reads approved rows only; the rating summary (count, average,
distribution) is computed over them at read time, so approving or rejecting a
review changes the summary with no counters to keep in step.
"""

from typing import Any

from domain.review import PENDING, Review
from projections.base import Event, Row, RowProjector, Table

REVIEWS = Table(
    "reviews",
    {
        "review_id": "uuid",
        "product_id": "text",
        "order_id": "uuid",
        "verified": "boolean",
        "rating": "smallint",
        "title": "text",
        "body": "text",
        "author_name": "text",
        "status": "text",  # pending | approved | rejected
        "reason": "text",
        "submitted_at": "timestamptz",
        "moderated_at": "timestamptz",
        "updated_at": "timestamptz",
    },
    indexes=("(product_id, status, submitted_at DESC)", "(status, submitted_at)"),
)


class ReviewsProjector(RowProjector):
    name = "reviews"
    tables = (REVIEWS,)
    topics = (Review.Submitted, Review.Approved, Review.Rejected, Review.VerificationChanged)

    def key_of(self, event: Event) -> Any | None:
        return event.originator_id

    def apply(self, event: Event, row: Row | None) -> Row | None:
        if isinstance(event, Review.Submitted):
            return {
                "review_id": event.originator_id,
                "product_id": event.product_id,
                "order_id": event.order_id,
                "verified": event.verified,
                "rating": event.rating,
                "title": event.title,
                "body": event.body,
                "author_name": event.author_name,
                "status": PENDING,
                "reason": None,
                "submitted_at": event.timestamp,
                "moderated_at": None,
                "updated_at": event.timestamp,
            }
        if row is None:
            return None
        row = dict(row)
        if isinstance(event, Review.VerificationChanged):
            row.update(verified=event.verified, updated_at=event.timestamp)
            return row
        if isinstance(event, Review.Approved):
            row.update(status="approved", reason=None)
        elif isinstance(event, Review.Rejected):
            row.update(status="rejected", reason=event.reason)
        row.update(moderated_at=event.timestamp, updated_at=event.timestamp)
        return row
