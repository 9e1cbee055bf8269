"""Every file event type round-trips through the store (StoredFile, ProductGallery,
ReviewPhotos), and the file views fold them."""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate

from commands.ledger import Ledger
from domain.product_gallery import ProductGallery
from domain.review_photos import ReviewPhotos
from domain.stored_file import StoredFile
from infra.database import event_store_env
from projections.files import ProductImagesProjector, StoredFilesProjector
from tests.integration.test_event_store import declared_event_types
from tests.unit.domain.builders import NOW, later, state

pytestmark = [pytest.mark.embedded_ok, pytest.mark.integration]

AGGREGATES: list[type[Aggregate]] = [StoredFile, ProductGallery, ReviewPhotos]


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    ledger = Ledger(env=event_store_env(database_url))
    try:
        yield ledger
    finally:
        ledger.close()


def every_file_event() -> list[Aggregate]:
    sha = uuid4().hex * 2
    file = StoredFile.upload(
        sha256=sha, size=68, content_type="image/png", filename="t.png", uploaded_by="k", now=NOW
    )
    file.attach("product:tee", now=later(minutes=1))
    file.detach("product:tee", now=later(minutes=2))
    file.sweep(now=later(minutes=3))
    file.restore(uploaded_by="k", now=later(minutes=4))
    image: dict[str, str | int] = {
        "file_id": str(file.id),
        "key": file.key,
        "content_type": "image/png",
        "sha256": sha,
        "size": 68,
    }
    gallery = ProductGallery.start(f"tee-{uuid4().hex[:6]}", now=NOW)
    gallery.arrange([image], by="admin-key:k", now=later(minutes=1))
    album = ReviewPhotos.start(uuid4(), now=NOW)
    album.add([image], now=later(minutes=1))
    album.remove_all(reason="review rejected", now=later(minutes=2))
    return [file, gallery, album]


def test_every_file_event_type_round_trips_through_the_store(ledger: Ledger) -> None:
    aggregates = every_file_event()
    originals = [event for aggregate in aggregates for event in aggregate.pending_events]
    declared = set().union(*(declared_event_types(kind) for kind in AGGREGATES))
    missing = sorted(e.__qualname__ for e in declared - {type(e) for e in originals})
    assert not missing, f"no scenario emits {missing}"

    head = ledger.head
    ledger.save_all(*aggregates)

    for aggregate in aggregates:
        reloaded: Aggregate = ledger.repository.get(aggregate.id)
        assert state(reloaded) == state(aggregate)
    notifications = ledger.recorder.select_notifications(start=head + 1, limit=1000)
    assert [ledger.mapper.to_domain_event(n) for n in notifications] == originals


def test_the_file_view_follows_owners_and_the_sweep() -> None:
    file, gallery, _ = every_file_event()
    row = None
    projector = StoredFilesProjector()
    for event in file.pending_events:
        row = projector.apply(event, row)  # type: ignore[arg-type]
    assert row is not None
    assert row["stored"] is True and row["owners"] == [] and row["owner_count"] == 0

    images = None
    for event in gallery.pending_events:
        images = ProductImagesProjector().apply(event, images)  # type: ignore[arg-type]
    assert images is not None and images["images"][0]["file_id"] == str(file.id)
