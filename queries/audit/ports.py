"""What the audit needs from outside: the event store, the transactions view, object storage."""

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Mapper


class EventStore(Protocol):
    """The ledger's recorder and mapper (``commands.ledger.Ledger`` fits as it is)."""

    @property
    def recorder(self) -> ApplicationRecorder: ...

    @property
    def mapper(self) -> Mapper[UUID]: ...


@dataclass(frozen=True, slots=True)
class ViewTotal:
    """One row of the view's sums: an order's movements of one kind."""

    order_id: UUID
    kind: str
    currency: str
    count: int
    amount: int


@dataclass(frozen=True)
class ViewSnapshot:
    """The view's sums as of ``position`` in the log (read in one snapshot)."""

    position: int
    totals: Iterable[ViewTotal]


class TransactionsView(Protocol):
    """``views.order_transactions`` summed per order and kind."""

    def snapshot(self) -> AbstractContextManager[ViewSnapshot | None]:
        """The sums and the position they reflect; None where the view does not exist."""
        ...


class ObjectStorage(Protocol):
    """A bucket of an S3-compatible store (S3, R2, MinIO …)."""

    def put(self, key: str, body: bytes, *, content_type: str) -> None:
        """Write ``body`` at ``key``, replacing what is there."""
        ...
