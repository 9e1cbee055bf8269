"""``/admin/uploads``: files for the shop (product images, documents), and product images.

``POST /admin/uploads`` takes multipart field ``files`` (one or more);
``POST /admin/uploads/presign`` hands out a form the dashboard's browser posts to
storage directly, and ``POST /admin/uploads/confirm`` turns what it posted into a file.
"""

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Response, UploadFile, status
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from commands.api.deps import AdminKeyId, ServicesDep, tell_position
from commands.api.file_deps import (
    FileUrlDep,
    PolicyDep,
    StorageDep,
    file_out,
    presigned_out,
)
from commands.api.reviews import ProductsDep
from commands.api.schemas import Body
from commands.files import uploads
from commands.files.product_images import arrange_product_images
from domain.file_types import ADMIN_TYPES
from domain.product_gallery import MAX_IMAGES

router = APIRouter(prefix="/admin", tags=["admin: files"])

ProductId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
FileId = Annotated[str, Field(min_length=1, max_length=64)]


class PresignIn(Body):
    content_type: Annotated[str, Field(min_length=1, max_length=100)]
    # The file's size in bytes: required where storage signs a PUT (R2), else optional.
    size: Annotated[int | None, Field(strict=True, ge=0, le=1 << 40)] = None


class ConfirmIn(Body):
    upload_id: Annotated[str, Field(min_length=1, max_length=2000)]


class ImagesIn(Body):
    images: Annotated[list[FileId], Field(max_length=MAX_IMAGES)]


@router.post("/uploads", status_code=status.HTTP_201_CREATED)
async def upload(
    files: Annotated[list[UploadFile], File(description="One or more files.")],
    services: ServicesDep,
    storage: StorageDep,
    policy: PolicyDep,
    url_for: FileUrlDep,
    key_id: AdminKeyId,
) -> dict[str, Any]:
    """Store each file under its SHA-256 (the same bytes once); all or nothing is stored."""
    if len(files) > policy.max_files_per_upload:
        raise uploads.TooManyFiles(
            f"Send 1 to {policy.max_files_per_upload} files in the field 'files'."
        )
    incoming = [
        uploads.Incoming(
            filename=f.filename,
            content_type=f.content_type,
            body=await f.read(policy.max_upload_bytes + 1),
        )
        for f in files
    ]
    stored = await run_in_threadpool(
        uploads.upload_files, services, storage, policy, incoming, by=f"admin-key:{key_id}"
    )
    return {"files": [file_out(f, url_for) for f in stored]}


@router.post("/uploads/presign", status_code=status.HTTP_201_CREATED)
def presign(
    body: PresignIn,
    services: ServicesDep,
    storage: StorageDep,
    policy: PolicyDep,
    key_id: AdminKeyId,
) -> dict[str, Any]:
    """A form to post one file straight to storage (``url``, ``fields``, then ``file``)."""
    presigned = uploads.presign_upload(
        services,
        storage,
        policy,
        content_type=body.content_type,
        purpose="admin",
        accepted=ADMIN_TYPES,
        max_bytes=policy.max_upload_bytes,
        size=body.size,
    )
    return presigned_out(presigned, policy.max_upload_bytes)


@router.post("/uploads/confirm", status_code=status.HTTP_201_CREATED)
def confirm(
    body: ConfirmIn,
    services: ServicesDep,
    storage: StorageDep,
    url_for: FileUrlDep,
    key_id: AdminKeyId,
) -> dict[str, Any]:
    """The file a presigned upload posted, checked on its bytes like any upload."""
    file = uploads.confirm_upload(services, storage, body.upload_id, by=f"admin-key:{key_id}")
    return file_out(file, url_for)


@router.put("/products/{product_id}/images")
def put_product_images(
    product_id: ProductId,
    body: ImagesIn,
    services: ServicesDep,
    products: ProductsDep,
    url_for: FileUrlDep,
    key_id: AdminKeyId,
    response: Response,
) -> dict[str, Any]:
    """Show exactly these files on the product, in this order (the first is the thumbnail).

    Files left out are detached; an object no product uses is deleted by the sweep."""
    done = arrange_product_images(
        services, products, product_id, body.images, by=f"admin-key:{key_id}"
    )
    tell_position(response, done.position)
    images = [
        {"id": image["file_id"], "url": url_for(str(image["key"])), "rank": rank}
        for rank, image in enumerate(done.gallery.images)
    ]
    return {
        "product_id": product_id,
        "thumbnail": images[0]["url"] if images else None,
        "images": images,
    }
