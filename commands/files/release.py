"""Letting go of a review's photos when it is rejected (saved with the rejection)."""

from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.ledger import Ledger
from domain.review_photos import ReviewPhotos, review_owner
from domain.stored_file import StoredFile


def review_photos_lock(review_id: UUID) -> str:
    """Held while photos are attached and while the review is rejected."""
    return f"review-photos:{review_id}"


def photos_released(
    ledger: Ledger, review_id: UUID, *, reason: str, now: datetime
) -> list[Aggregate]:
    """The review's album emptied and its files detached (to save with the rejection)."""
    album = ledger.get_or_none(ReviewPhotos.id_for(review_id), ReviewPhotos)
    if album is None or not album.photos:
        return []
    owner = review_owner(review_id)
    changed: list[Aggregate] = []
    for file_id in album.file_ids:
        file = ledger.get_or_none(UUID(file_id), StoredFile)
        if file is not None:
            file.detach(owner, now=now)
            changed.append(file)
    album.remove_all(reason=reason, now=now)
    return [album, *changed]
