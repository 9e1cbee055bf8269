"""Capture timers: Redis keys that expire at the due time, and the listener that hears them.

``capture_intent:{order_id}`` is set with the time left as its TTL; Redis
publishes the expiry on ``__keyevent@<db>__:expired`` and the listener captures.
Redis may lose keys (restart, flush) or a notification may be missed: the
sweeper over the capture-schedule view covers both.
"""

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import redis

log = logging.getLogger(__name__)

KEY_PREFIX = "capture_intent:"


class RedisCaptureTimers:
    def __init__(self, client: "redis.Redis") -> None:
        self._client = client

    def set(self, order_id: UUID, due_at: datetime, now: datetime) -> None:
        milliseconds = max(int((due_at - now).total_seconds() * 1000), 1)
        try:
            self._client.set(f"{KEY_PREFIX}{order_id}", due_at.isoformat(), px=milliseconds)
        except redis.RedisError as error:  # the sweeper still captures on time
            log.warning("could not set capture timer for %s: %s", order_id, error)


class NoTimers:
    """Without Redis the sweeper alone drives captures."""

    def set(self, order_id: UUID, due_at: datetime, now: datetime) -> None:
        return None


class NotificationsRefused(RuntimeError):
    """Redis will not publish expired-key events and may not be configured to."""


def enable_expiry_events(client: "redis.Redis") -> None:
    """Make sure ``notify-keyspace-events`` includes expired events (E + x)."""
    try:
        current = str(client.config_get("notify-keyspace-events").get("notify-keyspace-events", ""))
    except redis.ResponseError as error:
        raise NotificationsRefused(
            f"cannot read notify-keyspace-events ({error}); set it to include 'Ex' on the server"
        ) from None
    if ("E" in current or "A" in current) and ("x" in current or "A" in current):
        return
    wanted = "".join(sorted(set(current + "Ex")))
    try:
        client.config_set("notify-keyspace-events", wanted)
    except redis.ResponseError as error:
        raise NotificationsRefused(
            f"cannot set notify-keyspace-events ({error}); set it to include 'Ex' on the server"
        ) from None


def listen_for_due_captures(
    client: "redis.Redis", on_due: Callable[[UUID], object], stop: threading.Event
) -> None:
    """Call ``on_due(order_id)`` for every expired capture timer until ``stop`` is set."""
    db = int(client.connection_pool.connection_kwargs.get("db", 0))
    channel = f"__keyevent@{db}__:expired"
    while not stop.is_set():
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            enable_expiry_events(client)
            pubsub.subscribe(channel)
            while not stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is None:
                    continue
                key = (
                    message["data"].decode()
                    if isinstance(message["data"], bytes)
                    else str(message["data"])
                )
                if key.startswith(KEY_PREFIX):
                    _deliver(on_due, key.removeprefix(KEY_PREFIX))
        except redis.RedisError as error:
            log.warning("capture listener lost Redis (%s); retrying", error)
            stop.wait(1.0)
        finally:
            pubsub.close()


def _deliver(on_due: Callable[[UUID], object], order_id: str) -> None:
    """One timer's capture; its failure is logged and left to the sweeper."""
    try:
        on_due(UUID(order_id))
    except Exception:
        log.exception("capture for timer %s failed; the sweeper will retry", order_id)
