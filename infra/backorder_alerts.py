"""Backorders told to the shop: a log line, and an entry on a Redis stream when there is one."""

import json
import logging
from typing import Any

import redis

log = logging.getLogger(__name__)

BACKORDER_STREAM = "inventory.backordered"


class BackorderAlerts:
    def __init__(self, redis_client: "redis.Redis | None") -> None:
        self._redis = redis_client

    def publish(self, alert: dict[str, Any]) -> None:
        log.warning("backordered: %s", json.dumps(alert))
        if self._redis is not None:
            try:
                self._redis.xadd(BACKORDER_STREAM, {"data": json.dumps(alert)}, maxlen=10_000)
            except Exception as error:
                log.warning("could not publish backorder alert: %s", error)
