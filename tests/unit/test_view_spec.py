"""A view is rebuilt when its projector changes what it builds from, not only its shape."""

from dataclasses import replace

from infra.view_store import spec_hash
from projections.orders import AdminOrdersProjector


def test_a_projector_that_reads_another_event_has_another_spec() -> None:
    projector = AdminOrdersProjector()
    fewer = type("Fewer", (AdminOrdersProjector,), {"topics": projector.topics[:-1]})()

    assert spec_hash(fewer) != spec_hash(projector)
    assert spec_hash(AdminOrdersProjector()) == spec_hash(projector)


def test_the_same_tables_and_topics_give_the_same_spec() -> None:
    projector = AdminOrdersProjector()
    same = type(
        "Same", (AdminOrdersProjector,), {"tables": [replace(t) for t in projector.tables]}
    )()
    assert spec_hash(same) == spec_hash(projector)
