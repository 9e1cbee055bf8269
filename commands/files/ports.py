"""What the file use cases need from storage (S3/R2, or a folder under DATA_DIR)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PresignedPost:
    """A form the browser posts straight to storage: ``url`` and the ``fields`` to send
    before the file (the policy in them carries the size and content-type conditions)."""

    url: str
    fields: dict[str, str]
    expires_at: datetime


class FileStorage(Protocol):
    """Objects by key. Every method is idempotent (a retry does no harm)."""

    def put(self, key: str, body: bytes, *, content_type: str) -> None: ...

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        """The object's bytes; None when absent. Reads at most ``max_bytes`` + 1."""
        ...

    def delete(self, key: str) -> None: ...

    def presign_post(
        self, key: str, *, content_type: str, max_bytes: int, expires_at: datetime, now: datetime
    ) -> PresignedPost:
        """A form that stores one file of this type, 1..max_bytes long, at ``key``,
        accepted until ``expires_at``."""
        ...

    def pending(self, prefix: str, *, before: datetime) -> list[str]:
        """Keys under ``prefix`` last written before ``before`` (abandoned uploads)."""
        ...
