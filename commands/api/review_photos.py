"""Review photos: a verified buyer (``X-Order-Token``) posts up to four through presigned
uploads, then attaches them; they show once the review is approved."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import Field

from commands.api.deps import ServicesDep, tell_position
from commands.api.file_deps import FileUrlDep, PolicyDep, StorageDep, presigned_out
from commands.api.reviews import OrderToken, ProductId
from commands.api.schemas import Body
from commands.files.review_photos import attach_review_photos, presign_review_photo
from domain.review_photos import MAX_PHOTOS

store = APIRouter(prefix="/store/products", tags=["store: reviews"])


class PhotoPresignIn(Body):
    content_type: Annotated[str, Field(min_length=1, max_length=100)]
    # The file's size in bytes: required where storage signs a PUT (R2), else optional.
    size: Annotated[int | None, Field(strict=True, ge=0, le=1 << 40)] = None


class PhotosIn(Body):
    upload_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=2000)]],
        Field(min_length=1, max_length=MAX_PHOTOS),
    ]


@store.post("/{product_id}/reviews/{review_id}/photos/presign", status_code=status.HTTP_201_CREATED)
def presign_photo(
    product_id: ProductId,
    review_id: UUID,
    body: PhotoPresignIn,
    services: ServicesDep,
    storage: StorageDep,
    policy: PolicyDep,
    x_order_token: OrderToken = None,
) -> dict[str, Any]:
    """A form for one photo (an image up to the size cap) straight to storage."""
    presigned = presign_review_photo(
        services,
        storage,
        policy,
        product_id,
        review_id,
        token=x_order_token,
        content_type=body.content_type,
        size=body.size,
    )
    return presigned_out(presigned, policy.review_photo_max_bytes)


@store.post("/{product_id}/reviews/{review_id}/photos")
def attach_photos(
    product_id: ProductId,
    review_id: UUID,
    body: PhotosIn,
    services: ServicesDep,
    storage: StorageDep,
    url_for: FileUrlDep,
    response: Response,
    x_order_token: OrderToken = None,
) -> dict[str, Any]:
    """Attach the photos posted for these uploads (checked on their bytes), all or none."""
    done = attach_review_photos(
        services,
        storage,
        product_id,
        review_id,
        token=x_order_token,
        upload_ids=body.upload_ids,
    )
    tell_position(response, done.position)
    return {
        "review_id": str(review_id),
        "photos": [{"id": p["file_id"], "url": url_for(str(p["key"]))} for p in done.album.photos],
    }
