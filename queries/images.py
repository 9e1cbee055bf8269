"""Images as storefronts show them: a product's ordered images and its thumbnail, and
the photos of approved reviews.

``ProductImages.images_of`` is the one query a storefront shape (native or
Medusa-shaped) reads a product's images through; ``images_from`` is the one rule
that turns what the views keep into what a client is sent.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol
from uuid import UUID

from fastapi import Depends, Request

FileUrl = Callable[[str], str]  # an object key → where a client reads it


@dataclass(frozen=True)
class ProductImage:
    id: str  # the file's id
    url: str
    rank: int  # 0 is the thumbnail
    content_type: str
    size: int
    sha256: str

    def out(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "rank": self.rank,
            "content_type": self.content_type,
            "size": self.size,
        }


def images_from(stored: Sequence[dict[str, Any]] | None, url_for: FileUrl) -> list[ProductImage]:
    """What a gallery or album keeps of each image, as clients see it, in order."""
    return [
        ProductImage(
            id=str(image["file_id"]),
            url=url_for(str(image["key"])),
            rank=rank,
            content_type=str(image["content_type"]),
            size=int(image["size"]),
            sha256=str(image["sha256"]),
        )
        for rank, image in enumerate(stored or ())
    ]


def thumbnail_of(images: Sequence[ProductImage]) -> str | None:
    """The first image is the thumbnail."""
    return images[0].url if images else None


class ProductImages(Protocol):
    def images_of(self, product_ids: Sequence[str]) -> dict[str, list[ProductImage]]:
        """Each product's images in display order (products without any: absent)."""
        ...

    def review_photos(self, review_ids: Sequence[UUID]) -> dict[UUID, list[ProductImage]]:
        """Each review's photos in upload order (reviews without any: absent)."""
        ...


async def get_product_images(request: Request) -> ProductImages:
    images: ProductImages = request.app.state.product_images
    return images


async def get_file_url(request: Request) -> FileUrl:
    url_for: FileUrl = request.app.state.file_url
    return url_for


ProductImagesDep = Annotated[ProductImages, Depends(get_product_images)]
FileUrlDep = Annotated[FileUrl, Depends(get_file_url)]
