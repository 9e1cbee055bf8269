"""The sweep: delete the objects that belong to nothing (the lifecycle rule of files).

A file is swept once it has had no owner for the grace period. The event is saved
before the object is deleted, and both happen under the file's lock (which uploads
take too): an attach that races the sweep finds the file gone and says so, and an
upload of the same bytes puts them back only after the delete.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from commands.files.ports import FileStorage
from commands.files.uploads import INCOMING, FilePolicy
from commands.services import Services
from domain.stored_file import StoredFile


class UnusedFiles(Protocol):
    """Files the view knows as stored and owned by nothing since before ``before``."""

    def unused(self, *, before: datetime, limit: int) -> Sequence[UUID]: ...


@dataclass
class Swept:
    files: list[str] = field(default_factory=list)
    abandoned_uploads: list[str] = field(default_factory=list)


def sweep_unused_files(
    services: Services,
    storage: FileStorage,
    unused: UnusedFiles,
    policy: FilePolicy,
    *,
    limit: int = 500,
) -> Swept:
    """Delete the objects unused for ``policy.sweep_grace``, and abandoned uploads."""
    now = services.clock()
    before = now - policy.sweep_grace
    done = Swept()
    for file_id in unused.unused(before=before, limit=limit):
        file = services.ledger.get_or_none(file_id, StoredFile)
        if file is None:
            continue
        with services.locks.hold(f"file:{file.sha256}"):
            # Decide again under the lock, on the file as it is now (not on the view).
            file = services.ledger.get_or_none(file_id, StoredFile)
            if file is None or file.owners or not file.stored or file.modified_on > before:
                continue
            file.sweep(now=services.clock())
            try:
                services.ledger.save_all(file)
            except IntegrityError:  # attached meanwhile (by a process without the lock)
                continue
            storage.delete(file.key)
        done.files.append(str(file.id))
    # A presigned upload never confirmed: its form expired, nothing will claim it.
    expired = now - max(policy.sweep_grace, timedelta(seconds=policy.presign_seconds))
    for key in storage.pending(INCOMING, before=expired):
        storage.delete(key)
        done.abandoned_uploads.append(key)
    return done
