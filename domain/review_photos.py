"""The photos a verified buyer attached to their review (shown once it is approved)."""

from datetime import datetime
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import InvalidRequestValue
from domain.ids import NAMESPACE

MAX_PHOTOS: Final = 4


class TooManyPhotos(InvalidRequestValue):
    """More photos on one review than it may hold."""


def review_owner(review_id: UUID) -> str:
    """How a review is named as a file's owner."""
    return f"review:{review_id}"


class ReviewPhotos(Aggregate):
    """Holds: at most MAX_PHOTOS photos, each file once."""

    class Started(Aggregate.Created):
        review_id: UUID

    class Added(Aggregate.Event):
        # [{"file_id", "key", "content_type", "sha256", "size"}], in upload order.
        photos: list[dict[str, str | int]]

        def apply(self, album: "ReviewPhotos") -> None:
            album.photos = [*album.photos, *(dict(photo) for photo in self.photos)]

    class Removed(Aggregate.Event):
        """Every photo taken off (the review was rejected)."""

        reason: str

        def apply(self, album: "ReviewPhotos") -> None:
            album.photos = []

    def __init__(self, review_id: UUID) -> None:
        self.review_id = review_id
        self.photos: list[dict[str, str | int]] = []

    @classmethod
    def start(cls, review_id: UUID, *, now: datetime) -> "ReviewPhotos":
        return cls._create(
            cls.Started, id=cls.id_for(review_id), timestamp=now, review_id=review_id
        )

    @staticmethod
    def id_for(review_id: UUID) -> UUID:
        return uuid5(NAMESPACE, f"review-photos:{review_id}")

    @property
    def file_ids(self) -> list[str]:
        return [str(photo["file_id"]) for photo in self.photos]

    def room_for(self, count: int) -> None:
        """Refuse before anything is stored when ``count`` more would not fit."""
        if len(self.photos) + count > MAX_PHOTOS:
            raise TooManyPhotos(
                f"A review holds at most {MAX_PHOTOS} photos ({len(self.photos)} already)."
            )

    def add(self, photos: list[dict[str, str | int]], *, now: datetime) -> None:
        new = [p for p in photos if str(p["file_id"]) not in self.file_ids]
        self.room_for(len(new))
        if new:
            self.trigger_event(self.Added, timestamp=now, photos=new)

    def remove_all(self, *, reason: str, now: datetime) -> None:
        if self.photos:
            self.trigger_event(self.Removed, timestamp=now, reason=reason)
