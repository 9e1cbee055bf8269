"""What a projector is, and the view store it writes through.

A projector turns a batch of domain events into row changes. The runtime (in
``infra``) reads the notification log, hands each projector its batch together
with a ``ViewStore`` bound to one transaction, and records the tracking position
in that same transaction — so a view is updated exactly once per event.
"""

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.domain import Aggregate

Row = dict[str, Any]
Event = Aggregate.Event


@dataclass(frozen=True)
class Table:
    """A view table: ``columns`` maps names to SQL types; the first column is the key."""

    name: str
    columns: dict[str, str]
    indexes: tuple[str, ...] = ()
    # Those of ``indexes`` the projector reads rows by (``ViewStore.rows_where``): a
    # rebuild makes them with the table, the others once the table is loaded. Without
    # one, each batch of a rebuild scanned all the rows loaded so far: quadratic.
    read_by: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return next(iter(self.columns))

    def can_read_by(self, column: str) -> bool:
        """Whether rows can be found by ``column`` through an index (the key's, or one of
        ``read_by`` whose first column it is)."""
        return column == self.key or any(
            index.removeprefix("UNIQUE ").strip("()").split(",")[0].split()[0] == column
            for index in self.read_by
        )


class ViewStore(Protocol):
    """Row access for one batch, inside the batch's transaction."""

    def fetch(self, table: str, keys: Collection[Any]) -> dict[Any, Row]:
        """The existing rows with these keys, by key."""
        ...

    def rows_where(self, table: str, column: str, values: Collection[Any]) -> list[Row]:
        """Every row whose ``column`` is one of ``values``."""
        ...

    def upsert(self, table: str, rows: Sequence[Row]) -> None:
        """Insert or replace whole rows (every column given)."""
        ...


class Projector(ABC):
    """One read model: its tables, and how events change them."""

    name: str
    tables: tuple[Table, ...]
    # Event classes this projector reads; others are skipped without decoding.
    topics: tuple[type, ...]

    @abstractmethod
    def project(self, events: Sequence[Event], store: ViewStore) -> None:
        """Apply a batch of events (in log order) to the view."""


class RowProjector(Projector):
    """A view of one table whose rows are folded from events by key.

    Fetches every touched row once per batch, folds the batch in memory and writes
    each changed row once — a batch costs two round trips, not one per event.
    """

    @property
    def table(self) -> Table:
        return self.tables[0]

    @abstractmethod
    def key_of(self, event: Event) -> Any | None:
        """The row the event changes (None: it changes none)."""

    @abstractmethod
    def apply(self, event: Event, row: Row | None) -> Row | None:
        """The row after the event (None leaves it absent)."""

    def prepare(self, events: Sequence[Event], store: ViewStore) -> None:
        """Resolve whatever ``key_of`` needs for this batch (a lookup table, say)."""

    def project(self, events: Sequence[Event], store: ViewStore) -> None:
        self.prepare(events, store)
        # Each row's events in log order (a row's fold sees only its own events).
        by_key: dict[Any, list[Event]] = {}
        key_of = self.key_of
        for event in events:
            key = key_of(event)
            if key is not None:
                if (same := by_key.get(key)) is None:
                    by_key[key] = [event]
                else:
                    same.append(event)
        if not by_key:
            return
        rows = store.fetch(self.table.name, by_key.keys())
        apply = self.apply
        changed: list[Row] = []
        for key, row_events in by_key.items():
            row = rows.get(key)
            last = None  # the latest row that was not absent: the one written
            for event in row_events:
                row = apply(event, row)
                if row is not None:
                    last = row
            if last is not None:
                changed.append(last)
        store.upsert(self.table.name, changed)
