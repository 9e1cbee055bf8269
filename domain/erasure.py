"""A person's erasure: the ledger's record that their personal data was made unreadable.

It names the person by subject id only (an HMAC of their e-mail, never the e-mail)
and says who asked, when, and which aggregates held their data. The erasure itself
is the destruction of the person's data key, outside the event store.
"""

from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.ids import NAMESPACE

# What a personal field reads once its customer is erased.
ERASED = "[erased]"


class NotErasableYet(DomainError):
    """An order of the person is still in its grace period or awaiting capture."""


def erasure_id_for(subject_id: str) -> UUID:
    return uuid5(NAMESPACE, "erasure:" + subject_id)


class PersonalDataErasure(Aggregate):
    """Every erasure of one subject (a person may order again after one)."""

    class Requested(Aggregate.Created):
        subject_id: str

    class Erased(Aggregate.Event):
        requested_by: str
        aggregate_ids: list[str]
        keys_destroyed: int

        def apply(self, erasure: "PersonalDataErasure") -> None:
            erasure.erasures += 1
            erasure.last_erased_at = self.timestamp

    def __init__(self, subject_id: str) -> None:
        self.subject_id = subject_id
        self.erasures = 0
        self.last_erased_at: datetime | None = None

    @classmethod
    def start(cls, subject_id: str, now: datetime) -> "PersonalDataErasure":
        return cls._create(
            cls.Requested, id=erasure_id_for(subject_id), timestamp=now, subject_id=subject_id
        )

    def record(
        self, *, requested_by: str, aggregate_ids: list[str], keys_destroyed: int, now: datetime
    ) -> None:
        self.trigger_event(
            self.Erased,
            timestamp=now,
            requested_by=requested_by,
            aggregate_ids=sorted(aggregate_ids),
            keys_destroyed=keys_destroyed,
        )


def check_erasable(open_orders: list[tuple[str, datetime]], now: datetime) -> None:
    """Refuse while any order is open: ``(order id, capture due)`` of each placed order.

    Its e-mail and address are still needed to take payment, ship and notify; once
    captured (or canceled) the order is history and its personal data can go.
    """
    if not open_orders:
        return
    order_id, due = max(open_orders, key=lambda o: o[1])
    when = "as soon as its payment is captured" if due <= now else f"after {due.isoformat()}"
    raise NotErasableYet(
        f"Order {order_id} is still in its grace period or awaiting capture; "
        f"the customer can be erased {when} (once every order is captured or canceled)."
    )
