"""Waiting for the views: woken by the projection runtime's NOTIFY (not by polling), a
position past the head refused, waiters beyond the bound refused at once, and the latest
position of an aggregate found by one probe."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest

from domain.review import Review
from infra.container import Container, build_container
from infra.database import conninfo
from infra.settings import Settings
from infra.storefront_reads import AsyncStorefrontReads
from infra.view_positions import PostgresViewPositions
from queries.errors import PositionBeyondHead, TooManyWaiting
from tests.e2e.conftest import fresh_database

pytestmark = pytest.mark.integration

NEVER_POLLED = 3600.0  # longer than any wait below: only a NOTIFY can wake a waiter


@pytest.fixture
def container(database_url: str) -> Iterator[Container]:
    with fresh_database(database_url) as url:
        built = build_container(Settings(database_url=url))
        try:
            yield built
        finally:
            built.close()


def record_reviews(container: Container, count: int) -> list[uuid.UUID]:
    ids = []
    for _ in range(count):
        review = Review.submit(
            product_id="tee",
            rating=5,
            title="Soft",
            body="Lovely.",
            author_name="Ada",
            order_id=None,
            fresh_id=uuid.uuid4(),
            now=datetime.now(UTC),
        )
        container.ledger.save(review)
        ids.append(review.id)
    return ids


@asynccontextmanager
async def positions_of(
    container: Container, **options: float
) -> AsyncIterator[PostgresViewPositions]:
    reads = await AsyncStorefrontReads.open(container.database_url)
    recorder = container.ledger.recorder
    positions = PostgresViewPositions(
        reads,
        conninfo(container.database_url),
        events_table=(recorder.datastore.schema, recorder.events_table_name),  # type: ignore[attr-defined]
        fallback_poll=NEVER_POLLED,
        **options,  # type: ignore[arg-type]
    )
    positions.start()
    try:
        await asyncio.wait_for(positions.listening.wait(), 10.0)
        yield positions
    finally:
        await positions.close()
        await reads.close()


async def parked(positions: PostgresViewPositions, count: int) -> None:
    """Until ``count`` waiters are parked (each look yields to the event loop)."""
    for _ in range(10_000):
        if positions.waiting >= count:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the waiters did not park")


def test_a_waiter_is_woken_by_the_runtimes_notify_when_its_view_arrives(
    container: Container,
) -> None:
    [review_id] = record_reviews(container, 1)
    head = container.ledger.head

    async def scenario() -> tuple[bool, int | None, int | None]:
        async with positions_of(container) as positions:
            waiting = asyncio.create_task(positions.wait_for(head, ["reviews"], 30.0))
            await parked(positions, 1)
            assert not waiting.done()
            mover = threading.Thread(target=container.projections.catch_up)
            mover.start()
            reached = await asyncio.wait_for(waiting, 20.0)  # well before any poll
            mover.join()
            return (
                reached,
                await positions.last_position_of([review_id]),
                await positions.last_position_of([uuid.uuid4()]),
            )

    reached, last, unknown = asyncio.run(scenario())
    assert reached is True
    assert last == head and unknown is None


def test_past_the_head_is_refused_and_beyond_the_bound_a_waiter_is_refused_at_once(
    container: Container,
) -> None:
    record_reviews(container, 1)
    head = container.ledger.head

    async def scenario() -> None:
        async with positions_of(container, max_waiters=1) as positions:
            with pytest.raises(PositionBeyondHead):
                await positions.wait_for(head + 1, ["reviews"], 5.0)
            first = asyncio.create_task(positions.wait_for(head, ["reviews"], 0.5))
            await parked(positions, 1)
            with pytest.raises(TooManyWaiting):
                await positions.wait_for(head, ["reviews"], 5.0)
            assert await first is False  # nothing moved the view: its bound ran out
            assert positions.waiting == 0

    asyncio.run(scenario())
