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
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.cart import Cart
from domain.inventory_level import InventoryLevel

# Locks for deciding one at a time on a held aggregate: enough that two checkouts on
# different levels rarely share one (16 in flight, 4-6 levels each: ~3% at 1,024).
DECIDING_STRIPES = 1_024
DECIDING_WAIT = 0.5  # seconds: a save takes milliseconds; longer, the one ahead is stuck

# What checkout decides on; orders and payment collections are read fresh (they are
# created by checkout, and changed by commands that decide on them in the store).
CACHED_KINDS: tuple[type[Aggregate], ...] = (Cart, InventoryLevel)


class AggregateCache:
    """A bounded, thread-safe LRU of aggregate copies, by id."""

    def __init__(self, max_entries: int = 20_000) -> None:
        self._max = max_entries
        self._entries: OrderedDict[UUID, Aggregate] = OrderedDict()
        self._lock = threading.Lock()
        self._deciding = [threading.Lock() for _ in range(DECIDING_STRIPES)]
        self.hits = 0
        self.misses = 0

    @contextmanager
    def deciding_on(
        self, aggregate_ids: Iterable[UUID], wait: float = DECIDING_WAIT
    ) -> Iterator[None]:
        """One decision at a time in this process on the held copies of these aggregates.

        Two threads deciding on the same held level both decide on its version N and save
        N+1: the store refuses the second (a wasted transaction, then a decision on state
        read fresh). Waiting for the first instead decides on the copy it wrote through.
        It only spares work: a decision still stands on the store's version check alone,
        and another process is not held back by this. Striped locks, taken in one order;
        a decision that waited ``wait`` seconds (the one ahead is stuck, say on a database
        that went away) goes ahead without them, as it would have without this.
        """
        stripes = sorted({hash(i) % DECIDING_STRIPES for i in aggregate_ids})
        deadline = time.monotonic() + wait
        taken: list[threading.Lock] = []
        try:
            for stripe in stripes:
                lock = self._deciding[stripe]
                if not lock.acquire(timeout=max(deadline - time.monotonic(), 0.0)):
                    for other in reversed(taken):
                        other.release()
                    taken = []
                    break
                taken.append(lock)
            yield
        finally:
            for lock in reversed(taken):
                lock.release()

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
