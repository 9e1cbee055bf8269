"""Money movements as JSON Lines plus a manifest, written to object storage.

The same range gives the same objects: file names follow from the notification ids
they hold (and ``since``), contents from the events, and the manifest carries no
time of its own — so exporting twice writes identical bytes under identical keys.
Files are cut every ``part_size`` movements, so a later export over a longer log
rewrites only its last part and manifest.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from uuid import UUID

from queries.audit.fold import PAYMENT_TOPICS, OrderMoney
from queries.audit.ports import EventStore, ObjectStorage
from queries.audit.source import PAGE_SIZE, head, read_log
from queries.audit.summary import MoneySummary, Summary

FORMAT: Final = "orderledger.money-movements/1"
PART_SIZE: Final = 100_000
JSONL: Final = "application/x-ndjson"


@dataclass(frozen=True)
class ExportedFile:
    key: str
    movements: int
    bytes: int
    sha256: str
    first_notification_id: int
    last_notification_id: int


@dataclass(frozen=True)
class ExportManifest:
    key: str
    since: datetime | None
    through_notification_id: int
    files: tuple[ExportedFile, ...]
    summary: Summary

    @property
    def movements(self) -> int:
        return sum(f.movements for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "since": self.since.isoformat() if self.since else None,
            "through_notification_id": self.through_notification_id,
            "movements": self.movements,
            "files": [
                {
                    "key": f.key,
                    "movements": f.movements,
                    "bytes": f.bytes,
                    "sha256": f.sha256,
                    "first_notification_id": f.first_notification_id,
                    "last_notification_id": f.last_notification_id,
                }
                for f in self.files
            ],
            "currencies": self.summary,
        }


def movements(
    store: EventStore, *, stop: int, since: datetime | None = None, page_size: int = PAGE_SIZE
) -> Iterator[dict[str, Any]]:
    """Every money movement up to ``stop`` (created at or after ``since``), in log order.

    Amounts are minor units. The whole log is folded (an increment's or a void's amount
    depends on what came before), but only payment events are read.
    """
    collections: dict[UUID, OrderMoney] = {}
    for _, page in read_log(store, stop=stop, topics=PAYMENT_TOPICS, page_size=page_size):
        for nid, event in page:
            pc_id = event.originator_id
            money = collections.get(pc_id)
            if money is None:
                order_id = getattr(event, "order_id", None)
                money = collections[pc_id] = OrderMoney(order_id, pc_id)
            movement = money.apply(event)
            if movement is None or (since is not None and event.timestamp < since):
                continue
            yield {
                "notification_id": nid,
                "order_id": str(money.order_id) if money.order_id else None,
                "payment_collection_id": str(pc_id),
                "version": event.originator_version,
                "kind": movement.kind,
                "amount": movement.amount,
                "currency": money.currency,
                "reference": movement.reference,
                "created_at": event.timestamp.astimezone(UTC).isoformat(),
            }


def export_movements(
    store: EventStore,
    storage: ObjectStorage,
    *,
    prefix: str,
    since: datetime | None = None,
    part_size: int = PART_SIZE,
    page_size: int = PAGE_SIZE,
) -> ExportManifest:
    """Write the movements in parts of ``part_size`` lines, then the manifest; return it."""
    folder = "/".join(p for p in (prefix.strip("/"), _range_name(since)) if p)
    summary = MoneySummary()
    files: list[ExportedFile] = []
    part: list[bytes] = []
    first = last = 0

    def flush() -> None:
        body = b"".join(part)
        key = f"{folder}/movements-{first:012d}-{last:012d}.jsonl"
        storage.put(key, body, content_type=JSONL)
        digest = hashlib.sha256(body).hexdigest()
        files.append(ExportedFile(key, len(part), len(body), digest, first, last))
        part.clear()

    for movement in movements(store, stop=head(store), since=since, page_size=page_size):
        if not part:
            first = movement["notification_id"]
        last = movement["notification_id"]
        part.append(_line(movement))
        summary.add(movement["currency"], movement["kind"], movement["amount"])
        if len(part) >= part_size:
            flush()
    if part:
        flush()
    through = files[-1].last_notification_id if files else 0
    manifest = ExportManifest(
        key=f"{folder}/manifest-{through:012d}.json",
        since=since,
        through_notification_id=through,
        files=tuple(files),
        summary=summary.as_dict(),
    )
    body = (json.dumps(manifest.as_dict(), indent=2, sort_keys=True) + "\n").encode()
    storage.put(manifest.key, body, content_type="application/json")
    return manifest


def _line(movement: dict[str, Any]) -> bytes:
    return (json.dumps(movement, sort_keys=True, separators=(",", ":")) + "\n").encode()


def _range_name(since: datetime | None) -> str:
    if since is None:
        return "all"
    at = since.astimezone(UTC)
    fraction = f".{at.microsecond:06d}" if at.microsecond else ""
    return f"since-{at:%Y%m%dT%H%M%S}{fraction}Z"
