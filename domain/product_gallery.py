"""A product's images, in the order the shop shows them (the first is the thumbnail).

Each image names its file and carries what a storefront shows of it, so the view
needs nothing else to answer.
"""

from datetime import datetime
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidRequestValue
from domain.ids import NAMESPACE

MAX_IMAGES: Final = 20


class TooManyImages(InvalidRequestValue):
    """More images on one product than a gallery holds."""


class RepeatedImage(InvalidRequestValue):
    """The same file twice in one product's images."""


def gallery_owner(product_id: str) -> str:
    """How a product is named as a file's owner."""
    return f"product:{product_id}"


class ProductGallery(Aggregate):
    """Holds: at most MAX_IMAGES images, each file once."""

    class Started(Aggregate.Created):
        product_id: str

    class Arranged(Aggregate.Event):
        # [{"file_id", "key", "content_type", "sha256", "size"}], in display order.
        images: list[dict[str, str | int]]
        arranged_by: str

        def apply(self, gallery: "ProductGallery") -> None:
            gallery.images = [dict(image) for image in self.images]

    def __init__(self, product_id: str) -> None:
        self.product_id = product_id
        self.images: list[dict[str, str | int]] = []

    @classmethod
    def start(cls, product_id: str, *, now: datetime) -> "ProductGallery":
        return cls._create(
            cls.Started, id=cls.id_for(product_id), timestamp=now, product_id=product_id
        )

    @staticmethod
    def id_for(product_id: str) -> UUID:
        return uuid5(NAMESPACE, f"product-gallery:{product_id}")

    @property
    def file_ids(self) -> list[str]:
        return [str(image["file_id"]) for image in self.images]

    def arrange(self, images: list[dict[str, str | int]], *, by: str, now: datetime) -> None:
        """Show exactly these images in this order (a no-op when nothing changes)."""
        ids = [str(image["file_id"]) for image in images]
        if len(ids) > MAX_IMAGES:
            raise TooManyImages(f"A product has at most {MAX_IMAGES} images.")
        if len(set(ids)) != len(ids):
            raise RepeatedImage("Each file appears at most once among a product's images.")
        if ids != self.file_ids:
            self.trigger_event(self.Arranged, timestamp=now, images=images, arranged_by=by)
