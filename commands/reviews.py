"""Product reviews: submit (verified with an order's token), approve, reject.

A verified review names its order and carries the order's access token; the order
must contain one of the product's variants. Its id follows from (product, order),
so a second review of that product from that order collides in the store (409).
"""

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from commands.errors import InvalidRequest, NotFound, ProductNotFound
from commands.files.release import photos_released, review_photos_lock
from commands.ledger import retry_on_conflict
from commands.order_changes import authorize_customer
from commands.services import Services
from domain.errors import DomainError
from domain.order import Order
from domain.review import Review, is_verified_purchase, may_name_purchase


class ReviewNotFound(NotFound):
    pass


class DuplicateReview(DomainError):
    """This order has reviewed this product already."""


class NotAPurchase(InvalidRequest):
    """The order named for a verified review did not buy the product."""


class TokenWithoutOrder(InvalidRequest):
    """An order token came without the order it belongs to."""


class Products(Protocol):
    """The catalog's products with their variants (``{"id", "variants": [{"id"}, …]}``)."""

    def product(self, product_id: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class Submitted:
    review: Review
    position: int | None


def submit_review(
    services: Services,
    products: Products,
    product_id: str,
    *,
    rating: int,
    title: str,
    body: str,
    author_name: str,
    order_id: UUID | None = None,
    order_token: str | None = None,
) -> Submitted:
    """Record a review, pending moderation; verified when the order's token bought the product."""
    product = products.product(product_id)
    if product is None:
        raise ProductNotFound(f"There is no product {product_id!r}.")
    if order_token is not None and order_id is None:
        raise TokenWithoutOrder("A verified review names its order_id with the X-Order-Token.")
    verified = False
    if order_id is not None:
        verified = _check_purchase(services, product, order_id, order_token)
    review = Review.submit(
        product_id=product_id,
        rating=rating,
        title=title,
        body=body,
        author_name=author_name,
        order_id=order_id,
        fresh_id=uuid4(),
        now=services.clock(),
        verified=verified,
    )
    if order_id is not None and services.ledger.get_or_none(review.id, Review) is not None:
        raise DuplicateReview("This order has reviewed this product already.")
    try:
        position = services.ledger.save_all(review)
    except IntegrityError:  # the same review submitted twice at once
        raise DuplicateReview("This order has reviewed this product already.") from None
    return Submitted(review, position)


def approve_review(services: Services, review_id: UUID, *, by: str) -> Submitted:
    def attempt() -> Submitted:
        review = _load(services, review_id)
        review.approve(moderated_by=by, now=services.clock())
        return Submitted(review, services.ledger.save_all(review))

    return retry_on_conflict(attempt)


def reject_review(services: Services, review_id: UUID, *, reason: str, by: str) -> Submitted:
    def attempt() -> Submitted:
        review = _load(services, review_id)
        now = services.clock()
        review.reject(reason=reason, moderated_by=by, now=now)
        # A rejected review's photos are detached with it, in the same transaction;
        # under the lock photos are attached under, so none slips in beside it.
        with services.locks.hold(review_photos_lock(review_id)):
            photos = photos_released(services.ledger, review_id, reason="review rejected", now=now)
            return Submitted(review, services.ledger.save_all(review, *photos))

    return retry_on_conflict(attempt)


def _load(services: Services, review_id: UUID) -> Review:
    review = services.ledger.get_or_none(review_id, Review)
    if review is None:
        raise ReviewNotFound(f"There is no review {review_id}.")
    return review


def _check_purchase(
    services: Services, product: dict[str, Any], order_id: UUID, token: str | None
) -> bool:
    """Refuse a review naming an order that did not buy the product; answer whether it
    is a verified purchase already (the order captured) or becomes one at capture."""
    # A wrong token answers like an unknown order: it does not tell which orders exist.
    authorize_customer(services, order_id, token)
    order = services.ledger.get_or_none(order_id, Order)
    variants = {variant["id"] for variant in product["variants"]}
    bought = (
        {product["id"]}
        if order is not None and any(line.variant_id in variants for line in order.lines.values())
        else set()
    )
    if order is None or not may_name_purchase(order.status, bought, product["id"]):
        raise NotAPurchase(f"Order {order_id} did not buy product {product['id']!r}.")
    return is_verified_purchase(order.status, bought, product["id"])
