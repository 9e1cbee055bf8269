"""The one event store that holds every aggregate (one notification log).

Because every aggregate lives in the same store, a use case that touches an order,
its payment collection and several inventory levels saves them in one transaction.
"""

import functools
import time
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
)
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    JSONTranscoder,
    Mapper,
    OperationalError,
    ProcessRecorder,
    Recording,
    StoredEvent,
    Tracking,
    Transcoding,
)

from commands.aggregate_cache import AggregateCache
from domain.cart import Cart
from domain.errors import DomainError
from domain.inventory_level import InventoryLevel
from domain.lines import Line, Shipping
from domain.order import Order
from domain.payment_collection import PaymentCollection

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

MAX_ATTEMPTS = 8


class ConcurrentChange(DomainError):
    """Another command changed the same aggregates each time this one tried to save."""


class StoredReader(Protocol):
    """Reads the stored state of several aggregates in one round trip: for each, its
    latest snapshot (if any) then its events after it, in order."""

    def read(self, aggregate_ids: Sequence[UUID]) -> list[StoredEvent]: ...


class Ledger(Application[UUID]):
    """The event-sourced store of orders, payments, inventory and carts."""

    name = "orderledger"
    # A busy inventory level gathers thousands of reservations, and checkout loads two
    # or three per order: a snapshot every 25 events keeps that to a snapshot and a few
    # events (at 100, the events after it made a level load four times slower).
    # Carts and orders are changed by anonymous clients (within their caps, MAX_CART_CHANGES
    # and MAX_ORDER_CHANGES), and each order change moves its payment collection's amount:
    # a snapshot every 50 events bounds what one read of any of them loads.
    snapshotting_intervals = {InventoryLevel: 25, Cart: 50, Order: 50, PaymentCollection: 50}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        on_append: Callable[[float], None] | None = None,
        stored_reader_for: "Callable[[Ledger], StoredReader | None] | None" = None,
        mapper: Callable[[Mapper[UUID]], Mapper[UUID]] | None = None,
    ) -> None:
        """``on_append`` is told how long each append took (metrics); ``stored_reader_for``
        makes, from the built store, the reader of several aggregates in one round trip;
        ``mapper`` wraps the store's mapper (personal data sealed). The composition root
        passes them; nothing is set on a ledger after it is made."""
        self._wrap_mapper = mapper
        super().__init__(env)
        if self.snapshots is not None:
            _bound_retries(self.snapshots.recorder)
        self.on_append = on_append
        self.stored_reader: StoredReader | None = (
            stored_reader_for(self) if stored_reader_for is not None else None
        )
        # Carts and levels as this process last saved or read them (``get_cached``).
        self.cache = AggregateCache()

    def construct_mapper(self) -> Mapper[UUID]:
        mapper = super().construct_mapper()
        return self._wrap_mapper(mapper) if self._wrap_mapper is not None else mapper

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(SetAsList())
        transcoder.register(LineAsDict())
        transcoder.register(ShippingAsDict())

    def construct_recorder(self) -> ProcessRecorder:
        # A process recorder also keeps tracking rows, so the process manager can save
        # the events it decides together with the position it decided them at.
        recorder = self.factory.process_recorder()
        _bound_retries(recorder)
        return recorder

    def save_tracked(
        self, *aggregates: Aggregate | None, follower: str, position: int
    ) -> int | None:
        """Save ``aggregates`` and record that ``follower`` has processed ``position``, atomically.

        A second save for the same (or an earlier) position raises ``IntegrityError``.
        """
        processing = ProcessingEvent[UUID](
            tracking=Tracking(application_name=follower, notification_id=position)
        )
        processing.collect_events(*aggregates)
        recordings: list[Recording[UUID]] = list(self._written_through(aggregates, processing))
        return max((r.notification.id for r in recordings), default=None)

    def followed_up_to(self, follower: str) -> int:
        recorder = self.recorder
        assert isinstance(recorder, ProcessRecorder)
        return recorder.max_tracking_id(follower) or 0

    def get_or_none(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, kind):
            return None
        return aggregate

    def get_all(self, *aggregate_ids: UUID) -> dict[UUID, Aggregate]:
        """The current state of each aggregate that exists, read together.

        A command that decides on an order and its payment collection (and the stock
        levels its lines reserve) needs them all; one statement reads them instead of
        two round trips (snapshot, then events) for each.
        """
        ids = list(dict.fromkeys(aggregate_ids))
        if self.stored_reader is None:
            found = {i: self.get_or_none(i, Aggregate) for i in ids}
            return {i: aggregate for i, aggregate in found.items() if aggregate is not None}
        events: dict[UUID, list[Any]] = {}
        to_domain_event = self.mapper.to_domain_event
        for stored in self.stored_reader.read(ids):
            events.setdefault(UUID(str(stored.originator_id)), []).append(to_domain_event(stored))
        aggregates: dict[UUID, Aggregate] = {}
        for aggregate_id, history in events.items():
            aggregate: Any = None
            # The library's project_aggregate checks each event against a runtime
            # Protocol, which cost a fifth of checkout's time; the events are ours.
            for event in history:
                aggregate = event.mutate(aggregate)
            if isinstance(aggregate, Aggregate):
                aggregates[aggregate_id] = aggregate
        return aggregates

    def get_cached(self, *aggregate_ids: UUID) -> dict[UUID, Aggregate]:
        """As ``get_all``, carts and levels from this process's cache where it holds them.

        Only for a decision whose save carries a new version of every cached aggregate
        it decided on (the store then refuses it if one was stale; see
        ``commands.aggregate_cache``).
        """
        found = self.cache.get(aggregate_ids)
        missing = [i for i in aggregate_ids if i not in found]
        if missing:
            loaded = self.get_all(*missing)
            self.cache.put(loaded.values())
            found.update(loaded)
        return found

    def get_many(self, kind: type[A], *aggregate_ids: UUID) -> dict[UUID, A]:
        """As ``get_all``, keeping those of ``kind``."""
        return {
            i: aggregate
            for i, aggregate in self.get_all(*aggregate_ids).items()
            if isinstance(aggregate, kind)
        }

    def save_all(self, *aggregates: Aggregate | None) -> int | None:
        """Save every pending event of ``aggregates`` in one transaction.

        Returns the highest notification id written (the position a reader can wait
        for), or None if nothing was pending.
        """
        started = time.perf_counter()
        try:
            recordings: list[Recording[UUID]] = self.save(*aggregates)
        except IntegrityError:
            # Another process saved one of them first: what this one holds is stale.
            self.cache.drop(a.id for a in aggregates if a is not None)
            raise
        self.cache.put(aggregates)
        if self.on_append is not None:
            self.on_append(time.perf_counter() - started)
        return max((r.notification.id for r in recordings), default=None)

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """Snapshot a saved aggregate from memory when it stands at the snapshot's version.

        The library loads the aggregate back from the store to snapshot it (a snapshot
        read and an events read, on a tenth of checkouts: every 25th event of a level);
        the aggregate just saved is that state already. Otherwise (it moved past the
        version within the same save) the library's way.
        """
        if self.snapshots is None or not self.snapshotting_intervals:
            return
        remaining = ProcessingEvent[UUID]()
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate))  # type: ignore[arg-type]
            if aggregate is None or interval is None or event.originator_version % interval:
                continue
            if aggregate.version == event.originator_version:
                snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
                if snapshot_class is not None:
                    self.snapshots.put([snapshot_class.take(aggregate)])
                    continue
            remaining.events.append(event)
            remaining.aggregates[event.originator_id] = aggregate
        if remaining.events:
            super()._take_snapshots(remaining)

    def _written_through(
        self, aggregates: Sequence[Aggregate | None], processing: ProcessingEvent[UUID]
    ) -> list[Recording[UUID]]:
        try:
            recordings = list(self._record(processing))
        except IntegrityError:
            self.cache.drop(a.id for a in aggregates if a is not None)
            raise
        self.cache.put(aggregates)
        return recordings

    @property
    def head(self) -> int:
        """The highest notification id in the store (0 when empty)."""
        return self.recorder.max_notification_id() or 0


class SetAsList(Transcoding):
    """Sets in aggregate state (snapshots) as JSON lists."""

    type = set
    name = "set"

    def encode(self, obj: set[Any]) -> list[Any]:
        return sorted(obj)

    def decode(self, data: list[Any]) -> set[Any]:
        return set(data)


class LineAsDict(Transcoding):
    """An order's line items in its snapshots, in the form its events carry them."""

    type = Line
    name = "order_line"

    def encode(self, obj: Line) -> dict[str, Any]:
        return dict(obj.to_data())

    def decode(self, data: dict[str, Any]) -> Line:
        return Line.from_data(data)  # type: ignore[arg-type]


class ShippingAsDict(Transcoding):
    """An order's shipping in its snapshots, in the form its events carry it."""

    type = Shipping
    name = "order_shipping"

    def encode(self, obj: Shipping) -> dict[str, Any]:
        return dict(obj.to_data())

    def decode(self, data: dict[str, Any]) -> Shipping:
        return Shipping.from_data(data)  # type: ignore[arg-type]


# The library retries these ten times, waiting for a pooled connection each time: during
# a database outage a request would hang for most of a minute. Two quick tries, then
# the caller gets the error (the API answers 503) and its client retries.
_RETRIED = (
    "insert_events",
    "select_events",
    "select_notifications",
    "max_notification_id",
    "insert_tracking",
    "max_tracking_id",
    "has_tracking_id",
)
_ATTEMPTS = 2


def _bound_retries(recorder: object) -> None:
    for name in _RETRIED:
        original = getattr(getattr(type(recorder), name, None), "__wrapped__", None)
        if original is not None:
            setattr(recorder, name, types.MethodType(_quick_retry(original), recorder))


def _quick_retry(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def retried(*args: Any, **kwargs: Any) -> T:
        for _ in range(_ATTEMPTS - 1):
            try:
                return method(*args, **kwargs)
            except (OperationalError, InterfaceError):
                time.sleep(0.1)
        return method(*args, **kwargs)

    return retried


def retry_on_conflict(command: Callable[[], T], attempts: int = MAX_ATTEMPTS) -> T:
    """Run ``command`` (load, decide, save) again when another writer got there first.

    The event store's unique ``(originator_id, originator_version)`` turns a lost
    race into an ``IntegrityError``; re-running the whole command reloads the
    aggregates and decides again on the state that won.
    """
    for _ in range(attempts - 1):
        try:
            return command()
        except IntegrityError:
            continue
    try:
        return command()
    except IntegrityError as error:
        raise ConcurrentChange("The order changed concurrently; try again.") from error
