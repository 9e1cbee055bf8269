"""Property: whatever galleries are arranged, in whatever order, a file's owners are
exactly the products that show it (so the sweep deletes only what nothing shows)."""

from __future__ import annotations

import hashlib
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from commands.files.product_images import decide_gallery
from commands.ledger import Ledger
from domain.product_gallery import ProductGallery, gallery_owner
from domain.stored_file import StoredFile
from tests.unit.domain.builders import NOW

PRODUCTS = ["tee", "mug", "cap"]
FILES = 5

arrangements = st.lists(
    st.tuples(
        st.sampled_from(PRODUCTS),
        st.lists(st.integers(0, FILES - 1), max_size=FILES, unique=True),
    ),
    max_size=12,
)


def in_memory_files() -> tuple[Ledger, list[str]]:
    ledger = Ledger(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    ids = []
    for n in range(FILES):
        file = StoredFile.upload(
            sha256=hashlib.sha256(bytes([n])).hexdigest(),
            size=1,
            content_type="image/png",
            filename=None,
            uploaded_by="test",
            now=NOW,
        )
        ledger.save_all(file)
        ids.append(str(file.id))
    return ledger, ids


@settings(max_examples=60, deadline=None)
@given(arrangements)
def test_a_file_belongs_to_exactly_the_products_that_show_it(
    steps: list[tuple[str, list[int]]],
) -> None:
    ledger, ids = in_memory_files()
    shown: dict[str, list[str]] = {}
    for product, picks in steps:
        wanted = [ids[i] for i in picks]
        gallery, files = decide_gallery(ledger, product, wanted, by="test", now=NOW)
        ledger.save_all(gallery, *files)
        shown[product] = wanted

    for product, wanted in shown.items():
        stored = ledger.get_or_none(ProductGallery.id_for(product), ProductGallery)
        assert stored is not None and stored.file_ids == wanted
    for file_id in ids:
        file = ledger.repository.get(UUID(file_id))
        expected = sorted(gallery_owner(p) for p, wanted in shown.items() if file_id in wanted)
        assert file.owners == expected
