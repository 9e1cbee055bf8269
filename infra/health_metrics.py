"""Gauges an alert can be written on: each worker's heartbeat age, and the reads waiting
for their views in this process (the views' lag is ``orderledger_projection_lag_*``)."""

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class WorkerHeartbeats(Collector):
    """``orderledger_worker_heartbeat_age_seconds{worker}`` and
    ``orderledger_workers_fresh`` (how many beat within the freshness bound)."""

    def __init__(self, beats: Callable[[], Iterable[Any]]) -> None:
        self._beats = beats

    def collect(self) -> Iterable[GaugeMetricFamily]:
        age = GaugeMetricFamily(
            "orderledger_worker_heartbeat_age_seconds",
            "Seconds since each worker last reported",
            labels=["worker"],
        )
        fresh = GaugeMetricFamily(
            "orderledger_workers_fresh", "Workers that reported within the freshness bound"
        )
        try:
            beats = list(self._beats())
        except Exception:  # a scrape must not fail because the database is away
            beats = None
        if beats is not None:
            for beat in beats:
                age.add_metric([beat.worker], beat.age_seconds)
            fresh.add_metric([], sum(1 for beat in beats if beat.fresh))
        yield age
        yield fresh


class ViewWaiters(Collector):
    """``orderledger_view_waiters``: reads of this process waiting for their views now."""

    def __init__(self, waiting: Callable[[], int]) -> None:
        self._waiting = waiting

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "orderledger_view_waiters", "Reads waiting for their views in this process"
        )
        gauge.add_metric([], self._waiting())
        yield gauge
