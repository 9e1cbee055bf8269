"""The one event store that holds every aggregate (one notification log).

Because every aggregate lives in the same store, a use case that touches an order,
its payment collection and several inventory levels saves them in one transaction.
"""

from collections.abc import Callable, Mapping
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from domain.errors import DomainError

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

MAX_ATTEMPTS = 8


class ConcurrentChange(DomainError):
    """Another command changed the same aggregates each time this one tried to save."""


class Ledger(Application[UUID]):
    """The event-sourced store of orders, payments, inventory and carts."""

    name = "orderledger"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env)

    def get_or_none(self, aggregate_id: UUID, kind: type[A]) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, kind):
            return None
        return aggregate

    def save_all(self, *aggregates: Aggregate | None) -> int | None:
        """Save every pending event of ``aggregates`` in one transaction.

        Returns the highest notification id written (the position a reader can wait
        for), or None if nothing was pending.
        """
        recordings: list[Recording[UUID]] = self.save(*aggregates)
        return max((r.notification.id for r in recordings), default=None)

    @property
    def head(self) -> int:
        """The highest notification id in the store (0 when empty)."""
        return self.recorder.max_notification_id() or 0


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
