"""The log as the projectors read it: pages (live) and ranges (rebuild).

A batch is read and each wanted event decoded once, however many views take it;
``share_out`` hands each view the events past its own position.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from commands.ledger import Ledger


@dataclass(frozen=True)
class Batch:
    """A stretch of the log: how far it goes (``count``: notifications read, or positions
    covered), the position it ends at, and (notification id, topic, domain event) for the
    notifications whose topic was asked for."""

    count: int
    last: int
    events: list[tuple[int, str, Any]]
    ids: Sequence[int] = ()  # every notification read (pages only), in order


@dataclass(frozen=True)
class Advanced:
    """What one batch did: how far it went (``count``, as ``Batch``), the position it
    reached, the notifications consumed summed over its projections, and whether the
    page was full (more may follow at once)."""

    count: int
    last: int
    consumed: int
    full: bool


Reader = Callable[[int, frozenset[str]], Batch]  # (position, topics) -> the next batch


class LogReader:
    def __init__(self, ledger: Ledger, *, page_size: int, range_size: int) -> None:
        self.ledger = ledger
        self.page_size = page_size
        self.range_size = range_size

    def page(self, start: int, topics: frozenset[str]) -> Batch:
        """The next ``page_size`` notifications after ``start``; those with ``topics`` decoded."""
        notifications = self.ledger.recorder.select_notifications(
            start=start + 1, limit=self.page_size
        )
        if not notifications:
            return Batch(0, start, [])
        to_domain_event = self.ledger.mapper.to_domain_event
        events = [(n.id, n.topic, to_domain_event(n)) for n in notifications if n.topic in topics]
        return Batch(
            len(notifications), notifications[-1].id, events, [n.id for n in notifications]
        )

    def range(self, start: int, topics: frozenset[str]) -> Batch:
        """Every notification with ``topics`` in the next ``range_size`` positions after
        ``start`` (the database skips the others), up to the head of the log.

        Up to the head, the log is complete: writers take its table lock to number their
        events and hold it until they commit, so no notification below a committed one can
        appear later (the pages of ``page`` rely on the same).
        """
        stop = min(start + self.range_size, self.ledger.head)
        if stop <= start:
            return Batch(0, start, [])
        notifications = self.ledger.recorder.select_notifications(
            start=start + 1, stop=stop, limit=stop - start, topics=sorted(topics)
        )
        to_domain_event = self.ledger.mapper.to_domain_event
        events = [(n.id, n.topic, to_domain_event(n)) for n in notifications]
        return Batch(stop - start, stop, events)


def share_out(
    batch: Batch, topics: Sequence[frozenset[str]], positions: Sequence[int]
) -> list[list[Any]]:
    """Each view's events from the batch, in log order (those past its position); a view
    takes ``topics[i]`` and stands at ``positions[i]``."""
    shares: list[list[Any]] = [[] for _ in topics]
    if len(set(positions)) > 1:  # not where a shared read leaves them: filter each
        for wanted, position, share in zip(topics, positions, shares, strict=True):
            share += (e for id_, topic, e in batch.events if id_ > position and topic in wanted)
        return shares
    # Alike (every event in the batch is past the position): one pass hands them out.
    takers: dict[str, list[list[Any]]] = {}
    for wanted, share in zip(topics, shares, strict=True):
        for topic in wanted:
            takers.setdefault(topic, []).append(share)
    for _, topic, event in batch.events:
        for share in takers.get(topic, ()):
            share.append(event)
    return shares
