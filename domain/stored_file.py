"""A file the shop keeps (a product image, a review photo), and what it belongs to.

The id follows from the bytes (SHA-256), so the same file uploaded twice is one
file, stored once. Its owners ("product:tee", "review:<id>") are recorded as it is
attached and detached; once it has none, the sweep deletes the object.
"""

from datetime import datetime
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.ids import NAMESPACE

MAX_OWNER: Final = 100


class FileGone(DomainError):
    """The file was swept (no longer stored); upload it again to use it."""


class FileInUse(DomainError):
    """The file still belongs to something and cannot be swept."""


def file_key(sha256: str) -> str:
    """Where the bytes live in the bucket (or under DATA_DIR): one key per content."""
    return f"files/{sha256[:2]}/{sha256}"


class StoredFile(Aggregate):
    """Holds: attached only while stored; swept only with no owners."""

    class Uploaded(Aggregate.Created):
        sha256: str
        size: int
        content_type: str
        key: str
        filename: str | None
        uploaded_by: str

    class Attached(Aggregate.Event):
        owner: str

        def apply(self, file: "StoredFile") -> None:
            file.owners = sorted({*file.owners, self.owner})

    class Detached(Aggregate.Event):
        owner: str

        def apply(self, file: "StoredFile") -> None:
            file.owners = [owner for owner in file.owners if owner != self.owner]

    class Swept(Aggregate.Event):
        """The object was deleted from storage (it belonged to nothing)."""

        def apply(self, file: "StoredFile") -> None:
            file.stored = False

    class Restored(Aggregate.Event):
        """The same bytes were uploaded again after a sweep."""

        uploaded_by: str

        def apply(self, file: "StoredFile") -> None:
            file.stored = True

    def __init__(
        self,
        sha256: str,
        size: int,
        content_type: str,
        key: str,
        filename: str | None,
        uploaded_by: str,
    ) -> None:
        self.sha256 = sha256
        self.size = size
        self.content_type = content_type
        self.key = key
        self.filename = filename
        self.owners: list[str] = []
        self.stored = True

    @classmethod
    def upload(
        cls,
        *,
        sha256: str,
        size: int,
        content_type: str,
        filename: str | None,
        uploaded_by: str,
        now: datetime,
    ) -> "StoredFile":
        return cls._create(
            cls.Uploaded,
            id=cls.id_for(sha256),
            timestamp=now,
            sha256=sha256,
            size=size,
            content_type=content_type,
            key=file_key(sha256),
            filename=filename,
            uploaded_by=uploaded_by,
        )

    @staticmethod
    def id_for(sha256: str) -> UUID:
        return uuid5(NAMESPACE, f"file:{sha256}")

    def attach(self, owner: str, *, now: datetime) -> None:
        if not self.stored:
            raise FileGone(f"File {self.id} was deleted as unused; upload it again.")
        if owner not in self.owners:
            self.trigger_event(self.Attached, timestamp=now, owner=owner[:MAX_OWNER])

    def detach(self, owner: str, *, now: datetime) -> None:
        if owner in self.owners:
            self.trigger_event(self.Detached, timestamp=now, owner=owner)

    def sweep(self, *, now: datetime) -> None:
        if self.owners:
            raise FileInUse(f"File {self.id} still belongs to {', '.join(self.owners)}.")
        if self.stored:
            self.trigger_event(self.Swept, timestamp=now)

    def restore(self, *, uploaded_by: str, now: datetime) -> None:
        if not self.stored:
            self.trigger_event(self.Restored, timestamp=now, uploaded_by=uploaded_by)
