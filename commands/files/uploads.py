"""Uploads: files sent to the API, and presigned forms the browser posts to storage.

Every check happens before anything is stored: a refused batch leaves no object and
no event. The bytes land under a key named by their SHA-256, so the same file is
stored once however often it is sent.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import uuid4

from commands.errors import InvalidRequest, NotFound
from commands.files.ports import FileStorage, PresignedUpload
from commands.services import Services
from domain.file_types import (
    ADMIN_TYPES,
    EmptyFile,
    FileTooLarge,
    UnsupportedFileType,
    check_file,
    check_filename,
)
from domain.stored_file import StoredFile

INCOMING = "incoming/"  # where presigned uploads land until confirmed


@dataclass(frozen=True)
class FilePolicy:
    """Limits on files, from Settings (one frozen object)."""

    max_upload_bytes: int = 10 << 20
    max_files_per_upload: int = 10
    review_photo_max_bytes: int = 5 << 20
    presign_seconds: int = 600
    # An object that belongs to nothing is kept this long before the sweep deletes it,
    # so an upload has time to be attached.
    sweep_grace: timedelta = timedelta(hours=1)


class TooManyFiles(InvalidRequest):
    """More files in one upload than are accepted (or none)."""


class InvalidUploadTicket(InvalidRequest):
    """The upload id was not issued by this ledger, or for another purpose."""


class UploadExpired(InvalidRequest):
    """The presigned upload expired; ask for a new one."""


class UploadNotFound(NotFound):
    """Nothing was posted for this upload, or it was confirmed already."""


@dataclass(frozen=True)
class Incoming:
    """One file as the client sent it."""

    filename: str | None
    content_type: str | None
    body: bytes


@dataclass(frozen=True)
class Ticket:
    """What a presigned upload was issued for (signed, so the client cannot change it)."""

    key: str
    purpose: str
    content_type: str
    max_bytes: int
    expires_at: datetime


@dataclass(frozen=True)
class Presigned:
    upload_id: str
    post: PresignedUpload


def upload_files(
    services: Services,
    storage: FileStorage,
    policy: FilePolicy,
    files: list[Incoming],
    *,
    by: str,
) -> list[StoredFile]:
    """Check every file, then keep each (the same bytes once)."""
    if not 1 <= len(files) <= policy.max_files_per_upload:
        raise TooManyFiles(f"Send 1 to {policy.max_files_per_upload} files in the field 'files'.")
    checked = [
        (
            check_filename(f.filename),
            check_file(
                f.body,
                claimed=f.content_type,
                accepted=ADMIN_TYPES,
                max_size=policy.max_upload_bytes,
            ),
            f.body,
        )
        for f in files
    ]
    return [
        keep_file(services, storage, body, content_type=kind, filename=name, by=by)
        for name, kind, body in checked
    ]


def keep_file(
    services: Services,
    storage: FileStorage,
    body: bytes,
    *,
    content_type: str,
    filename: str | None,
    by: str,
) -> StoredFile:
    """Store checked bytes under their hash and record the upload (once per content).

    Under the file's lock: the sweep deletes an object only under it, so it never
    deletes bytes an upload has just put back.
    """
    sha256 = hashlib.sha256(body).hexdigest()
    with services.locks.hold(f"file:{sha256}"):
        file = services.ledger.get_or_none(StoredFile.id_for(sha256), StoredFile)
        now = services.clock()
        if file is None:
            file = StoredFile.upload(
                sha256=sha256,
                size=len(body),
                content_type=content_type,
                filename=filename,
                uploaded_by=by,
                now=now,
            )
        elif file.stored:
            return file
        else:
            file.restore(uploaded_by=by, now=now)
        storage.put(file.key, body, content_type=content_type)
        services.ledger.save_all(file)
        return file


def presign_upload(
    services: Services,
    storage: FileStorage,
    policy: FilePolicy,
    *,
    content_type: str,
    purpose: str,
    accepted: frozenset[str],
    max_bytes: int,
    size: int | None = None,
) -> Presigned:
    """An upload of one file straight to storage, and the id to confirm it with.

    What the client declares (type, size) is checked here and bound into the signed
    upload; the bytes are checked again when the upload is confirmed."""
    kind = content_type.split(";")[0].strip().lower()
    if kind not in accepted:
        raise UnsupportedFileType(f"Uploads take {', '.join(sorted(accepted))}, not {kind!r}.")
    if size is not None and size < 1:
        raise EmptyFile("The file is empty.")
    if size is not None and size > max_bytes:
        raise FileTooLarge(f"The file is {size} bytes; at most {max_bytes} are accepted.")
    now = services.clock()
    ticket = Ticket(
        key=f"{INCOMING}{uuid4().hex}",
        purpose=purpose,
        content_type=kind,
        max_bytes=max_bytes,
        expires_at=now + timedelta(seconds=policy.presign_seconds),
    )
    post = storage.presign(
        ticket.key,
        content_type=kind,
        max_bytes=max_bytes,
        size=size,
        expires_at=ticket.expires_at,
        now=now,
    )
    return Presigned(sign_ticket(services, ticket), post)


def receive_upload(
    services: Services,
    storage: FileStorage,
    upload_id: str,
    *,
    purpose: str,
    accepted: frozenset[str],
) -> tuple[Ticket, bytes, str]:
    """The posted bytes of a presigned upload, checked; the incoming object is removed
    whenever the bytes are refused, so nothing refused stays stored."""
    ticket = open_ticket(services, upload_id, purpose=purpose)
    if services.clock() >= ticket.expires_at:
        storage.delete(ticket.key)
        raise UploadExpired("This upload expired; ask for a new one.")
    body = storage.read(ticket.key, max_bytes=ticket.max_bytes)
    if body is None:
        raise UploadNotFound("Nothing was posted for this upload, or it was confirmed already.")
    try:
        kind = check_file(
            body, claimed=ticket.content_type, accepted=accepted, max_size=ticket.max_bytes
        )
    except Exception:
        storage.delete(ticket.key)
        raise
    return ticket, body, kind


def confirm_upload(
    services: Services, storage: FileStorage, upload_id: str, *, by: str
) -> StoredFile:
    """Turn a presigned admin upload into a file (the bytes are checked like any upload)."""
    ticket, body, kind = receive_upload(
        services, storage, upload_id, purpose="admin", accepted=ADMIN_TYPES
    )
    file = keep_file(services, storage, body, content_type=kind, filename=None, by=by)
    storage.delete(ticket.key)
    return file


# --- tickets: the upload id, signed with the ledger's own key --------------------------


def _key(services: Services) -> bytes:
    return hmac.new(services.secrets.order_token_key(), b"upload-ticket", "sha256").digest()


def sign_ticket(services: Services, ticket: Ticket) -> str:
    payload = json.dumps(
        {
            "k": ticket.key,
            "p": ticket.purpose,
            "t": ticket.content_type,
            "m": ticket.max_bytes,
            "e": ticket.expires_at.isoformat(),
        },
        separators=(",", ":"),
    ).encode()
    body = base64.urlsafe_b64encode(payload).rstrip(b"=")
    mac = base64.urlsafe_b64encode(hmac.new(_key(services), body, "sha256").digest()).rstrip(b"=")
    return f"{body.decode()}.{mac.decode()}"


def open_ticket(services: Services, upload_id: str, *, purpose: str) -> Ticket:
    body, _, mac = upload_id.partition(".")
    expected = base64.urlsafe_b64encode(
        hmac.new(_key(services), body.encode(), "sha256").digest()
    ).rstrip(b"=")
    if not mac or not hmac.compare_digest(expected, mac.encode()):
        raise InvalidUploadTicket("This upload id was not issued here.")
    fields = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    if fields["p"] != purpose:
        raise InvalidUploadTicket("This upload id was issued for something else.")
    return Ticket(
        key=fields["k"],
        purpose=fields["p"],
        content_type=fields["t"],
        max_bytes=int(fields["m"]),
        expires_at=datetime.fromisoformat(fields["e"]),
    )
