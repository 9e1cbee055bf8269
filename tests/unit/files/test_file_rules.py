"""What a file may be (read from its bytes), and how files, galleries and albums change."""

from uuid import uuid4

import pytest

from domain.file_types import (
    ADMIN_TYPES,
    IMAGE_TYPES,
    EmptyFile,
    FileTooLarge,
    UnsafeFilename,
    UnsupportedFileType,
    check_file,
    check_filename,
    sniff,
)
from domain.product_gallery import MAX_IMAGES, ProductGallery, RepeatedImage, TooManyImages
from domain.review_photos import MAX_PHOTOS, ReviewPhotos, TooManyPhotos
from domain.stored_file import FileGone, FileInUse, StoredFile, file_key
from tests.unit.domain.builders import NOW, later, new_event_types
from tests.unit.files.images import GIF, HTML, JPEG, PDF, png

SHA = "ab" * 32


def a_file() -> StoredFile:
    return StoredFile.upload(
        sha256=SHA, size=10, content_type="image/png", filename="a.png", uploaded_by="t", now=NOW
    )


@pytest.mark.parametrize(
    ("body", "kind"),
    [(png(), "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (PDF, "application/pdf")],
)
def test_the_type_is_read_from_the_bytes(body: bytes, kind: str) -> None:
    assert sniff(body[:32]) == kind
    assert check_file(body, claimed=None, accepted=ADMIN_TYPES, max_size=1000) == kind


def test_bytes_of_no_accepted_kind_are_refused_whatever_the_claim() -> None:
    with pytest.raises(UnsupportedFileType):
        check_file(HTML, claimed="image/png", accepted=ADMIN_TYPES, max_size=1000)


def test_a_claim_that_contradicts_the_bytes_is_refused() -> None:
    with pytest.raises(UnsupportedFileType, match="sent as image/jpeg"):
        check_file(png(), claimed="image/jpeg", accepted=IMAGE_TYPES, max_size=1000)


def test_a_document_is_not_an_image() -> None:
    with pytest.raises(UnsupportedFileType):
        check_file(PDF, claimed=None, accepted=IMAGE_TYPES, max_size=1000)


def test_an_empty_file_and_one_over_the_cap_are_refused() -> None:
    with pytest.raises(EmptyFile):
        check_file(b"", claimed=None, accepted=IMAGE_TYPES, max_size=1000)
    with pytest.raises(FileTooLarge):
        check_file(png(), claimed=None, accepted=IMAGE_TYPES, max_size=len(png()) - 1)


@pytest.mark.parametrize(
    "name",
    ["../etc/passwd", "a/b.png", "a\\b.png", "..", ".htaccess", "x..png", "a\x00.png", "é" * 256],
)
def test_a_filename_with_path_tricks_is_refused(name: str) -> None:
    with pytest.raises(UnsafeFilename):
        check_filename(name)


def test_a_plain_filename_is_kept_and_none_is_fine() -> None:
    assert check_filename("Tee front (1).png") == "Tee front (1).png"
    assert check_filename(None) is None


def test_the_same_bytes_make_the_same_file() -> None:
    assert StoredFile.id_for(SHA) == a_file().id
    assert a_file().key == file_key(SHA) == f"files/ab/{SHA}"


def test_a_file_is_attached_once_per_owner_and_detached() -> None:
    file = a_file()
    file.attach("product:tee", now=NOW)
    file.attach("product:tee", now=NOW)
    file.attach("product:mug", now=NOW)
    file.detach("product:tee", now=later(minutes=1))
    file.detach("product:tee", now=later(minutes=1))

    assert file.owners == ["product:mug"]
    assert new_event_types(file) == ["Uploaded", "Attached", "Attached", "Detached"]


def test_a_file_in_use_is_not_swept_and_a_swept_one_is_not_attached() -> None:
    file = a_file()
    file.attach("product:tee", now=NOW)
    with pytest.raises(FileInUse):
        file.sweep(now=NOW)
    file.detach("product:tee", now=NOW)
    file.sweep(now=NOW)
    with pytest.raises(FileGone):
        file.attach("product:tee", now=NOW)
    file.restore(uploaded_by="t", now=NOW)
    file.attach("product:tee", now=NOW)
    assert file.stored and file.owners == ["product:tee"]


def image(n: int) -> dict[str, str | int]:
    return {
        "file_id": f"f{n}",
        "key": f"k{n}",
        "content_type": "image/png",
        "sha256": "s",
        "size": 1,
    }


def test_a_gallery_keeps_its_order_and_refuses_repeats_and_excess() -> None:
    gallery = ProductGallery.start("tee", now=NOW)
    gallery.arrange([image(2), image(1)], by="t", now=NOW)
    gallery.arrange([image(2), image(1)], by="t", now=NOW)  # no change: no event

    assert gallery.file_ids == ["f2", "f1"]
    assert new_event_types(gallery) == ["Started", "Arranged"]
    with pytest.raises(RepeatedImage):
        gallery.arrange([image(1), image(1)], by="t", now=NOW)
    with pytest.raises(TooManyImages):
        gallery.arrange([image(n) for n in range(MAX_IMAGES + 1)], by="t", now=NOW)


def test_a_review_holds_at_most_four_photos() -> None:
    album = ReviewPhotos.start(uuid4(), now=NOW)
    album.add([image(n) for n in range(MAX_PHOTOS - 1)], now=NOW)
    album.add([image(0)], now=NOW)  # already there: nothing added

    with pytest.raises(TooManyPhotos):
        album.add([image(10), image(11)], now=NOW)
    album.add([image(10)], now=NOW)
    assert len(album.photos) == MAX_PHOTOS
    album.remove_all(reason="rejected", now=NOW)
    assert album.photos == []
