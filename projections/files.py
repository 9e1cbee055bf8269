"""Files: what is stored and who owns it (for the sweep), a product's ordered images,
and a review's photos (shown with the review once it is approved)."""

from typing import Any

from domain.product_gallery import ProductGallery
from domain.review_photos import ReviewPhotos
from domain.stored_file import StoredFile
from projections.base import Event, Row, RowProjector, Table

STORED_FILES = Table(
    "stored_files",
    {
        "file_id": "uuid",
        "sha256": "text",
        "key": "text",
        "content_type": "text",
        "size": "bigint",
        "filename": "text",
        "owners": "jsonb",
        "owner_count": "integer",
        "stored": "boolean",
        "uploaded_at": "timestamptz",
        "changed_at": "timestamptz",
    },
    indexes=("(changed_at) WHERE stored AND owner_count = 0",),
)

PRODUCT_IMAGES = Table(
    "product_images",
    {"gallery_id": "uuid", "product_id": "text", "images": "jsonb", "updated_at": "timestamptz"},
    indexes=("UNIQUE (product_id)",),
)

REVIEW_PHOTOS = Table(
    "review_photos",
    {"album_id": "uuid", "review_id": "uuid", "photos": "jsonb", "updated_at": "timestamptz"},
    indexes=("UNIQUE (review_id)",),
)


class StoredFilesProjector(RowProjector):
    name = "stored_files"
    tables = (STORED_FILES,)
    topics = (
        StoredFile.Uploaded,
        StoredFile.Attached,
        StoredFile.Detached,
        StoredFile.Swept,
        StoredFile.Restored,
    )

    def key_of(self, event: Event) -> Any | None:
        return event.originator_id

    def apply(self, event: Event, row: Row | None) -> Row | None:
        if isinstance(event, StoredFile.Uploaded):
            return {
                "file_id": event.originator_id,
                "sha256": event.sha256,
                "key": event.key,
                "content_type": event.content_type,
                "size": event.size,
                "filename": event.filename,
                "owners": [],
                "owner_count": 0,
                "stored": True,
                "uploaded_at": event.timestamp,
                "changed_at": event.timestamp,
            }
        if row is None:
            return None
        row = dict(row)
        owners = list(row["owners"])
        if isinstance(event, StoredFile.Attached) and event.owner not in owners:
            owners = sorted([*owners, event.owner])
        elif isinstance(event, StoredFile.Detached):
            owners = [owner for owner in owners if owner != event.owner]
        elif isinstance(event, StoredFile.Swept):
            row["stored"] = False
        elif isinstance(event, StoredFile.Restored):
            row["stored"] = True
        row.update(owners=owners, owner_count=len(owners), changed_at=event.timestamp)
        return row


class ProductImagesProjector(RowProjector):
    name = "product_images"
    tables = (PRODUCT_IMAGES,)
    topics = (ProductGallery.Started, ProductGallery.Arranged)

    def key_of(self, event: Event) -> Any | None:
        return event.originator_id

    def apply(self, event: Event, row: Row | None) -> Row | None:
        if isinstance(event, ProductGallery.Started):
            return {
                "gallery_id": event.originator_id,
                "product_id": event.product_id,
                "images": [],
                "updated_at": event.timestamp,
            }
        if row is None or not isinstance(event, ProductGallery.Arranged):
            return row
        return {**row, "images": list(event.images), "updated_at": event.timestamp}


class ReviewPhotosProjector(RowProjector):
    name = "review_photos"
    tables = (REVIEW_PHOTOS,)
    topics = (ReviewPhotos.Started, ReviewPhotos.Added, ReviewPhotos.Removed)

    def key_of(self, event: Event) -> Any | None:
        return event.originator_id

    def apply(self, event: Event, row: Row | None) -> Row | None:
        if isinstance(event, ReviewPhotos.Started):
            return {
                "album_id": event.originator_id,
                "review_id": event.review_id,
                "photos": [],
                "updated_at": event.timestamp,
            }
        if row is None:
            return None
        if isinstance(event, ReviewPhotos.Added):
            photos = [*row["photos"], *event.photos]
        else:
            photos = []
        return {**row, "photos": photos, "updated_at": event.timestamp}
