"""What a file is, read from its first bytes (the claimed type is never trusted).

One home for the rule: an upload's content type is the one its magic number names,
and only the types listed here are kept at all.
"""

from typing import Final

from domain.errors import InvalidRequestValue

IMAGE_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"})
DOCUMENT_TYPES: Final = frozenset({"application/pdf"})
ADMIN_TYPES: Final = IMAGE_TYPES | DOCUMENT_TYPES

MAX_FILENAME: Final = 255


class UnsupportedFileType(InvalidRequestValue):
    """The bytes are not one of the accepted kinds of file (whatever the client claimed)."""


class EmptyFile(InvalidRequestValue):
    """A file with no bytes at all."""


class FileTooLarge(InvalidRequestValue):
    """A file over the size cap."""


class UnsafeFilename(InvalidRequestValue):
    """A filename that names a directory, climbs out of one, or holds control characters."""


def sniff(head: bytes) -> str | None:
    """The content type the first bytes announce, or None when they announce none we know."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "image/avif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check_file(body: bytes, *, claimed: str | None, accepted: frozenset[str], max_size: int) -> str:
    """The file's content type when it may be kept; a named error otherwise.

    A claimed type that contradicts the bytes is refused too: a client that says PNG
    and sends a JPEG has a bug worth hearing about.
    """
    if not body:
        raise EmptyFile("The file is empty.")
    if len(body) > max_size:
        raise FileTooLarge(f"The file is {len(body)} bytes; at most {max_size} are accepted.")
    found = sniff(body[:32])
    if found is None or found not in accepted:
        kinds = ", ".join(sorted(accepted))
        raise UnsupportedFileType(f"The bytes are not a file of an accepted type ({kinds}).")
    claim = (claimed or "").split(";")[0].strip().lower()
    if claim and claim not in ("application/octet-stream", found):
        raise UnsupportedFileType(f"The file was sent as {claim} but its bytes are {found}.")
    return found


def check_filename(name: str | None) -> str | None:
    """The filename as given, when it is a plain name (it never becomes a key)."""
    if name is None or name == "":
        return None
    if (
        len(name) > MAX_FILENAME
        or "/" in name
        or "\\" in name
        or name in (".", "..")
        or name.startswith(".")
        or ".." in name
        or any(ch < " " or ch == "\x7f" for ch in name)
    ):
        raise UnsafeFilename("A filename must be a plain name, without folders or '..'.")
    return name
