"""Review reads: the storefront's approved reviews with their rating summary, and the
admin's moderation queue.

Text is returned exactly as written: clients must escape it when rendering HTML.
"""

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query

from queries.api.deps import ReadModelsDep, ReadsByIdDep, ViewPositionsDep, caught_up_with
from queries.consistency import read_by_id
from queries.errors import NotFoundError
from queries.images import ProductImage, ProductImagesDep

store = APIRouter(prefix="/store/products", tags=["store: reviews"])
admin = APIRouter(prefix="/admin/reviews", tags=["admin: reviews"])

ProductId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Status = Literal["pending", "approved", "rejected"]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["review_id"]),
        "product_id": row["product_id"],
        "rating": row["rating"],
        "title": row["title"],
        "body": row["body"],
        "author_name": row["author_name"],
        "verified": row["verified"],
        "created_at": row["submitted_at"].isoformat(),
    }


def _for_admin(row: dict[str, Any]) -> dict[str, Any]:
    moderated = row["moderated_at"]
    return {
        **_public(row),
        "status": row["status"],
        "order_id": str(row["order_id"]) if row["order_id"] else None,
        "reason": row["reason"],
        "moderated_at": moderated.isoformat() if moderated else None,
    }


def _with_photos(
    out: list[dict[str, Any]], rows: list[dict[str, Any]], photos: dict[Any, list[ProductImage]]
) -> list[dict[str, Any]]:
    for item, row in zip(out, rows, strict=True):
        item["photos"] = [
            {"id": p.id, "url": p.url, "content_type": p.content_type, "size": p.size}
            for p in photos.get(row["review_id"], [])
        ]
    return out


def average(distribution: dict[int, int]) -> float | None:
    """The mean rating rounded half up to 2 decimals, in integers until the very end."""
    count = sum(distribution.values())
    if count == 0:
        return None
    total = sum(rating * n for rating, n in distribution.items())
    hundredths = (200 * total + count) // (2 * count)
    return hundredths / 100


@store.get("/{product_id}/reviews", dependencies=[caught_up_with("reviews")])
def product_reviews(
    product_id: ProductId,
    models: ReadModelsDep,
    images: ProductImagesDep,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Approved reviews, newest first, with ``count``, ``average_rating`` and ``distribution``."""
    if models.product(product_id) is None:
        raise NotFoundError(f"There is no product {product_id!r}.")
    rows, _ = models.reviews(product_id=product_id, status="approved", limit=limit, offset=offset)
    distribution = models.rating_distribution(product_id)
    return {
        # Only approved reviews are listed: a photo shows once a moderator saw it.
        "data": _with_photos(
            [_public(row) for row in rows],
            rows,
            images.review_photos([row["review_id"] for row in rows]),
        ),
        "count": sum(distribution.values()),
        "average_rating": average(distribution),
        "distribution": {str(rating): distribution.get(rating, 0) for rating in range(1, 6)},
        "limit": limit,
        "offset": offset,
    }


@admin.get("", dependencies=[caught_up_with("reviews")])
def reviews_for_moderation(
    models: ReadModelsDep,
    images: ProductImagesDep,
    status: Status | None = None,
    product_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    rows, count = models.reviews(product_id=product_id, status=status, limit=limit, offset=offset)
    photos = images.review_photos([row["review_id"] for row in rows])
    data = _with_photos([_for_admin(r) for r in rows], rows, photos)
    return {"data": data, "count": count, "limit": limit, "offset": offset}


@admin.get("/{review_id}", dependencies=[caught_up_with("reviews")])
async def review(
    review_id: UUID, reads: ReadsByIdDep, positions: ViewPositionsDep, images: ProductImagesDep
) -> dict[str, Any]:
    """One review with its moderation state and photos; never 404 for a review the ledger
    holds."""
    row = await read_by_id(
        lambda: reads.review(review_id),
        positions=positions,
        aggregate_ids=[review_id],
        views=("reviews",),
        not_found=f"There is no review {review_id}.",
    )
    return _with_photos([_for_admin(row)], [row], images.review_photos([review_id]))[0]
