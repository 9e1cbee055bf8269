"""Reading the event store for an audit: the log in pages, or one order's events."""

from collections.abc import Iterator, Sequence
from uuid import UUID

from domain.ids import payment_collection_id_for
from queries.audit.fold import ORDER_EVENTS, PAYMENT_EVENTS, Event
from queries.audit.ports import EventStore

PAGE_SIZE = 5_000

Page = list[tuple[int, Event]]


def head(store: EventStore) -> int:
    """The last notification id in the log (0 when it is empty)."""
    return store.recorder.max_notification_id() or 0


def read_log(
    store: EventStore,
    *,
    stop: int,
    start: int = 1,
    topics: Sequence[str] = (),
    page_size: int = PAGE_SIZE,
) -> Iterator[tuple[int, Page]]:
    """Notifications ``start .. stop`` decoded, in pages: ``(position reached, page)``.

    Only ``topics`` are read (all when empty); one page is in memory at a time.
    """
    select = store.recorder.select_notifications
    decode = store.mapper.to_domain_event
    wanted = list(topics)
    position = start - 1
    while position < stop:
        notifications = select(start=position + 1, limit=page_size, stop=stop, topics=wanted)
        page = [(n.id, decode(n)) for n in notifications]
        # A short page means nothing else of interest up to ``stop``.
        position = notifications[-1].id if len(notifications) == page_size else stop
        yield position, page


def order_events(store: EventStore, order_id: UUID) -> tuple[list[Event], list[Event]]:
    """The events of the order and of its payment collection, each in version order."""
    decode = store.mapper.to_domain_event
    select = store.recorder.select_events
    order = [decode(e) for e in select(order_id)]
    payment = [decode(e) for e in select(payment_collection_id_for(order_id))]
    return (
        [e for e in order if isinstance(e, ORDER_EVENTS)],
        [e for e in payment if isinstance(e, PAYMENT_EVENTS)],
    )
