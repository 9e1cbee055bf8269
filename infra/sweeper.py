"""The capture sweeper: captures whatever the capture-schedule view says is due.

The view stores when each capture is due and, after a failure, when it may be tried
again (``domain/capture_timing.py`` decides both); the query only reads them.

It is what makes capture never miss: Redis restarted or flushed, a notification
lost, or no worker running at the due time — the next sweep finds the capture.
"""

import logging
import threading
from collections.abc import Callable
from uuid import UUID

from infra.pg import Pool
from infra.view_store import VIEWS

log = logging.getLogger(__name__)

DUE = f"""
SELECT order_id FROM {VIEWS}.capture_schedule
WHERE status = 'scheduled' AND due_at <= now()
  AND (next_attempt_at IS NULL OR next_attempt_at <= now())
ORDER BY due_at
LIMIT %s
"""


def due_captures(pool: Pool, limit: int = 200) -> list[UUID]:
    with pool.connection() as conn:
        return [row[0] for row in conn.execute(DUE, (limit,)).fetchall()]


def sweep(pool: Pool, capture: Callable[[UUID], object]) -> int:
    """Capture every due order once; returns how many were tried."""
    orders = due_captures(pool)
    for order_id in orders:
        try:
            capture(order_id)
        except Exception:  # one bad order must not stop the others
            log.exception("sweeper could not capture %s", order_id)
    return len(orders)


def run_sweeper(
    pool: Pool, capture: Callable[[UUID], object], stop: threading.Event, interval: float
) -> None:
    while not stop.is_set():
        try:
            sweep(pool, capture)
        except Exception:
            log.exception("sweep failed; trying again")
        stop.wait(interval)
