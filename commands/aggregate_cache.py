"""The carts and inventory levels this process saved or read last, held for checkout.

Checkout decides on them optimistically: what it then saves carries each aggregate's
next version, and the event store's unique ``(originator_id, originator_version)``
refuses the save when another process changed any of them meanwhile (the cached copy
was stale). The caller then reloads from the store and decides again; nothing but a
successful, version-checked save ever stands on cached state.

Written through: every ``Ledger.save_all`` of this process puts the saved state here,
and a refused save drops the aggregates it carried. Each entry is a private copy: a
command mutates what it gets, and a command that is refused (or raises) must leave
nothing of its decision behind.
"""

import copy
import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.cart import Cart
from domain.inventory_level import InventoryLevel

# What checkout decides on; orders and payment collections are read fresh (they are
# created by checkout, and changed by commands that decide on them in the store).
CACHED_KINDS: tuple[type[Aggregate], ...] = (Cart, InventoryLevel)


class AggregateCache:
    """A bounded, thread-safe LRU of aggregate copies, by id."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._max = max_entries
        self._entries: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, Aggregate]:
        """Private copies of those held (the caller may change them freely)."""
        found: dict[UUID, Aggregate] = {}
        with self._lock:
            for aggregate_id in aggregate_ids:
                held = self._entries.get(aggregate_id)
                if held is None:
                    self.misses += 1
                    continue
                self._entries.move_to_end(aggregate_id)
                self.hits += 1
                found[aggregate_id] = held
        return {i: _copy(aggregate) for i, aggregate in found.items()}

    def put(self, aggregates: Iterable[Aggregate | None]) -> None:
        """Hold a copy of each (of a cached kind, with nothing pending), newer versions only."""
        copies = [
            _copy(a) for a in aggregates if isinstance(a, CACHED_KINDS) and not a.pending_events
        ]
        with self._lock:
            for aggregate in copies:
                held = self._entries.get(aggregate.id)
                if held is not None and held.version > aggregate.version:
                    continue
                self._entries[aggregate.id] = aggregate
                self._entries.move_to_end(aggregate.id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def drop(self, aggregate_ids: Iterable[UUID]) -> None:
        with self._lock:
            for aggregate_id in aggregate_ids:
                self._entries.pop(aggregate_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _copy(aggregate: Aggregate) -> Aggregate:
    """A copy sharing nothing mutable with ``aggregate`` (``copy.deepcopy`` was a sixth of
    checkout's time: its memo and reduce protocol for what is dicts, lists and scalars)."""
    clone: Aggregate = object.__new__(type(aggregate))
    clone.__dict__.update({k: _clone(v) for k, v in aggregate.__dict__.items()})
    return clone


_IMMUTABLE = (str, int, float, bool, type(None), datetime, date, UUID, Decimal)


def _clone(value: Any) -> Any:
    if isinstance(value, _IMMUTABLE):
        return value
    if type(value) is dict:
        return {k: _clone(v) for k, v in value.items()}
    if type(value) is list:
        return [_clone(v) for v in value]
    if type(value) is set:
        return set(value) if all(isinstance(v, _IMMUTABLE) for v in value) else copy.deepcopy(value)
    return copy.deepcopy(value)
