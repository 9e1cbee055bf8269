"""Reviews: the storefront submits, the admin approves or rejects.

Review text is stored and returned exactly as written. This is a JSON API: it
renders no HTML, so a client that shows a review must escape its text.
"""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Request, Response, status
from pydantic import Field

from commands import reviews
from commands.api.deps import AdminKeyId, ServicesDep, tell_position
from commands.api.schemas import Body
from domain.review import MAX_AUTHOR_NAME, MAX_BODY, MAX_REASON, MAX_TITLE, Review

store = APIRouter(prefix="/store/products", tags=["store: reviews"])
admin = APIRouter(prefix="/admin/reviews", tags=["admin: reviews"])

ProductId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
OrderToken = Annotated[str | None, Header(alias="X-Order-Token", max_length=200)]


async def get_products(request: Request) -> reviews.Products:
    # The catalog's product table (written by the catalog import, not a projection).
    products: reviews.Products = request.app.state.read_models
    return products


ProductsDep = Annotated[reviews.Products, Depends(get_products)]


class ReviewIn(Body):
    rating: Annotated[int, Field(strict=True, ge=1, le=5)]
    title: Annotated[str, Field(max_length=MAX_TITLE)] = ""
    body: Annotated[str, Field(max_length=MAX_BODY)] = ""
    author_name: Annotated[str, Field(min_length=1, max_length=MAX_AUTHOR_NAME)]
    # With the X-Order-Token header: the order the product was bought in (verified).
    order_id: UUID | None = None


class RejectIn(Body):
    reason: Annotated[str, Field(max_length=MAX_REASON)] = ""


def review_out(review: Review) -> dict[str, Any]:
    return {
        "id": str(review.id),
        "product_id": review.product_id,
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
        "author_name": review.author_name,
        "verified": review.verified,
        "status": review.status,
        "created_at": review.created_on.isoformat(),
    }


@store.post(
    "/{product_id}/reviews",
    status_code=status.HTTP_201_CREATED,
    description=(
        "Submit a review; it is shown once a moderator approves it. Text is returned as "
        "written (plain text, never HTML): clients must escape it when rendering. With "
        "`X-Order-Token` and `order_id` of an order that bought the product, the review "
        "is a verified purchase (one per product per order)."
    ),
)
def submit_review(
    product_id: ProductId,
    body: ReviewIn,
    services: ServicesDep,
    products: ProductsDep,
    response: Response,
    x_order_token: OrderToken = None,
) -> dict[str, Any]:
    submitted = reviews.submit_review(
        services,
        products,
        product_id,
        rating=body.rating,
        title=body.title,
        body=body.body,
        author_name=body.author_name,
        order_id=body.order_id,
        order_token=x_order_token,
    )
    tell_position(response, submitted.position)
    return review_out(submitted.review)


@admin.post("/{review_id}/approve")
def approve(
    review_id: UUID, services: ServicesDep, key_id: AdminKeyId, response: Response
) -> dict[str, Any]:
    done = reviews.approve_review(services, review_id, by=f"admin-key:{key_id}")
    tell_position(response, done.position)
    return review_out(done.review)


@admin.post("/{review_id}/reject")
def reject(
    review_id: UUID,
    services: ServicesDep,
    key_id: AdminKeyId,
    response: Response,
    body: RejectIn | None = None,
) -> dict[str, Any]:
    done = reviews.reject_review(
        services, review_id, reason=body.reason if body else "", by=f"admin-key:{key_id}"
    )
    tell_position(response, done.position)
    return review_out(done.review)
