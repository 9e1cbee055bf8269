"""What the file use cases need from storage (S3/R2, or a folder under DATA_DIR)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from commands.errors import InvalidRequest


class SizeRequired(InvalidRequest):
    """The storage signs uploads for one exact size (R2: PUT): the request must give it."""


@dataclass(frozen=True)
class PresignedUpload:
    """Where the browser sends one file straight to storage.

    ``POST``: a form to ``url`` with ``fields`` first, then ``file``; its signed policy
    carries the size range and the content type. ``PUT`` (R2, which takes no form
    uploads): the body to ``url`` with ``headers``; the signature covers the declared
    Content-Length and Content-Type, so storage refuses any other size or type.
    """

    url: str
    expires_at: datetime
    method: str = "POST"
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class FileStorage(Protocol):
    """Objects by key. Every method is idempotent (a retry does no harm)."""

    def put(self, key: str, body: bytes, *, content_type: str) -> None: ...

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        """The object's bytes; None when absent. Reads at most ``max_bytes`` + 1."""
        ...

    def delete(self, key: str) -> None: ...

    def presign(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        size: int | None,
        expires_at: datetime,
        now: datetime,
    ) -> PresignedUpload:
        """An upload of one file of this type, 1..max_bytes long (``size`` exactly, when
        the storage signs a PUT and needs it), at ``key``, accepted until ``expires_at``."""
        ...

    def pending(self, prefix: str, *, before: datetime) -> list[str]:
        """Keys under ``prefix`` last written before ``before`` (abandoned uploads)."""
        ...
