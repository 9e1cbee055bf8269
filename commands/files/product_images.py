"""Product images: attach, order and detach files on a product (admin and catalog import).

The gallery and every file it gains or loses are saved in one transaction, so the
ledger never holds an image whose file does not know it belongs to the product.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.errors import InvalidRequest, ProductNotFound
from commands.ledger import Ledger, retry_on_conflict
from commands.reviews import Products
from commands.services import Services
from domain.file_types import IMAGE_TYPES
from domain.product_gallery import ProductGallery, gallery_owner
from domain.stored_file import StoredFile


class UnknownFile(InvalidRequest):
    """A file id that no upload produced."""


class NotAnImage(InvalidRequest):
    """A product image must be an image file."""


def image_of(file: StoredFile) -> dict[str, str | int]:
    """What a gallery or album keeps of a file: what a storefront shows of it."""
    return {
        "file_id": str(file.id),
        "key": file.key,
        "content_type": file.content_type,
        "sha256": file.sha256,
        "size": file.size,
    }


def _file_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise UnknownFile(f"{value!r} is not a file id.") from None


def decide_gallery(
    ledger: Ledger,
    product_id: str,
    file_ids: list[str],
    *,
    by: str,
    now: datetime,
    loaded: dict[UUID, StoredFile] | None = None,
) -> tuple[ProductGallery, list[Aggregate]]:
    """The gallery set to exactly ``file_ids`` and the files attached or detached for it
    (to save together). Every id is checked before anything is decided."""
    # One instance per file across the galleries of one save (a catalog import), so a
    # file shared by two products records both attachments in one stream of events.
    files = {} if loaded is None else loaded

    def load(file_id: UUID) -> StoredFile | None:
        if file_id not in files:
            found = ledger.get_or_none(file_id, StoredFile)
            if found is None:
                return None
            files[file_id] = found
        return files[file_id]

    wanted: list[StoredFile] = []
    for value in file_ids:
        file = load(_file_id(value))
        if file is None:
            raise UnknownFile(f"There is no file {value}.")
        if file.content_type not in IMAGE_TYPES:
            raise NotAnImage(f"File {value} is {file.content_type}, not an image.")
        wanted.append(file)
    gallery = ledger.get_or_none(ProductGallery.id_for(product_id), ProductGallery)
    if gallery is None:
        gallery = ProductGallery.start(product_id, now=now)
    before = set(gallery.file_ids)
    gallery.arrange([image_of(f) for f in wanted], by=by, now=now)
    owner = gallery_owner(product_id)
    changed: list[Aggregate] = []
    for file in wanted:
        file.attach(owner, now=now)
        changed.append(file)
    kept = {str(f.id) for f in wanted}
    for gone in before - kept:
        old = load(UUID(gone))
        if old is not None:
            old.detach(owner, now=now)
            changed.append(old)
    return gallery, changed


@dataclass(frozen=True)
class Arranged:
    gallery: ProductGallery
    position: int | None


def arrange_product_images(
    services: Services, products: Products, product_id: str, file_ids: list[str], *, by: str
) -> Arranged:
    """Show exactly these images on the product, in this order (the first: thumbnail)."""
    if products.product(product_id) is None:
        raise ProductNotFound(f"There is no product {product_id!r}.")

    def attempt() -> Arranged:
        gallery, files = decide_gallery(
            services.ledger, product_id, file_ids, by=by, now=services.clock()
        )
        return Arranged(gallery, services.ledger.save_all(gallery, *files))

    return retry_on_conflict(attempt)
