"""Review photos: a verified buyer attaches up to four, through presigned uploads.

Only the order's token opens the review to photos, and only while it waits for
moderation, so a photo is always seen by a moderator before a shopper sees it.
Rejecting the review detaches them (``commands.files.release``).
"""

from dataclasses import dataclass
from uuid import UUID

from commands.errors import InvalidRequest
from commands.files.ports import FileStorage
from commands.files.product_images import image_of
from commands.files.release import review_photos_lock
from commands.files.uploads import FilePolicy, Presigned, keep_file, presign_upload, receive_upload
from commands.ledger import retry_on_conflict
from commands.order_changes import authorize_customer
from commands.reviews import ReviewNotFound
from commands.services import Services
from domain.errors import DomainError
from domain.file_types import IMAGE_TYPES
from domain.review import PENDING, Review
from domain.review_photos import MAX_PHOTOS, ReviewPhotos, review_owner
from domain.stored_file import StoredFile


class NotAVerifiedReview(InvalidRequest):
    """Only a review of a verified purchase takes photos."""


class ReviewModerated(DomainError):
    """The review was approved or rejected already; photos go on a review waiting for it."""


class NoPhotos(InvalidRequest):
    """A request to attach photos that names none."""


def _open_review(
    services: Services, product_id: str, review_id: UUID, token: str | None
) -> tuple[Review, ReviewPhotos]:
    review = services.ledger.get_or_none(review_id, Review)
    if review is None or review.product_id != product_id:
        raise ReviewNotFound(f"There is no review {review_id}.")
    if review.order_id is None:
        raise NotAVerifiedReview("Photos go on a verified review (one with its order).")
    authorize_customer(services, review.order_id, token)
    if review.status != PENDING:
        raise ReviewModerated("This review was moderated already; it takes no more photos.")
    album = services.ledger.get_or_none(ReviewPhotos.id_for(review_id), ReviewPhotos)
    if album is None:
        album = ReviewPhotos.start(review_id, now=services.clock())
    return review, album


def presign_review_photo(
    services: Services,
    storage: FileStorage,
    policy: FilePolicy,
    product_id: str,
    review_id: UUID,
    *,
    token: str | None,
    content_type: str,
    size: int | None = None,
) -> Presigned:
    """A form for one photo (an image, at most the photo size cap) straight to storage."""
    _, album = _open_review(services, product_id, review_id, token)
    album.room_for(1)
    return presign_upload(
        services,
        storage,
        policy,
        content_type=content_type,
        purpose=review_owner(review_id),
        accepted=IMAGE_TYPES,
        max_bytes=policy.review_photo_max_bytes,
        size=size,
    )


@dataclass(frozen=True)
class Attached:
    album: ReviewPhotos
    position: int | None


def attach_review_photos(
    services: Services,
    storage: FileStorage,
    product_id: str,
    review_id: UUID,
    *,
    token: str | None,
    upload_ids: list[str],
) -> Attached:
    """Attach the posted photos: every upload checked first, then stored, then attached
    together with the files' ownership in one transaction."""
    if not 1 <= len(upload_ids) <= MAX_PHOTOS:
        raise NoPhotos(f"Name 1 to {MAX_PHOTOS} uploads.")
    _, album = _open_review(services, product_id, review_id, token)
    album.room_for(len(set(upload_ids)))
    owner = review_owner(review_id)
    received = [
        receive_upload(services, storage, upload_id, purpose=owner, accepted=IMAGE_TYPES)
        for upload_id in dict.fromkeys(upload_ids)
    ]
    by = f"review:{review_id}"
    files = [
        keep_file(services, storage, body, content_type=kind, filename=None, by=by)
        for _, body, kind in received
    ]

    def attempt() -> Attached:
        # Decided on the review as it is under the lock a rejection takes too: photos
        # never land on a review rejected meanwhile.
        with services.locks.hold(review_photos_lock(review_id)):
            _, current = _open_review(services, product_id, review_id, token)
            now = services.clock()
            mine = [services.ledger.get_or_none(f.id, StoredFile) for f in files]
            stored = [f for f in mine if f is not None]
            for file in stored:
                file.attach(owner, now=now)
            current.add([image_of(f) for f in stored], now=now)
            return Attached(current, services.ledger.save_all(current, *stored))

    done = retry_on_conflict(attempt)
    for ticket, _, _ in received:
        storage.delete(ticket.key)
    return done
