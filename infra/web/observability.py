"""Structured logs and Prometheus metrics.

One JSON log line per request (request id, method, route, status, duration, order
id where the path names one). Nothing secret or personal reaches a log line: a
filter masks e-mail addresses, keys, tokens and client secrets in every record.
"""

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from infra.web.asgi import ASGIApp, Message, Receive, Scope, Send, header

request_log = logging.getLogger("orderledger.requests")

_SECRETS = [
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "<email>"),
    (re.compile(r"\bolk_[A-Za-z0-9]+_[A-Za-z0-9_-]+"), "<admin-key>"),
    (re.compile(r"\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]+"), "<stripe-key>"),
    (re.compile(r"\bwhsec_[A-Za-z0-9]+"), "<webhook-secret>"),
    (re.compile(r"\bre_[A-Za-z0-9]{8,}"), "<resend-key>"),
    (re.compile(r"\bpi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+"), "<client-secret>"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"']+"), r"\1<redacted>"),
    # Order access tokens and other long random strings (ids are shorter).
    (re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])"), "<token>"),
    (re.compile(r"(?i)(x-order-token[\"']?\s*[:=]\s*[\"']?)[^\s\"',]+"), r"\1<redacted>"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        line = json.dumps(entry, default=str)
        # The request log's lines are made of safe fields only (see RequestLog); the
        # nine patterns over every line were a tenth of a storefront read's time.
        return line if getattr(record, "redacted", False) else redact(line)


class Metrics:
    """The service's metrics in its own registry (so several apps can live in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "orderledger_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "orderledger_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.commands = Counter(
            "orderledger_commands_total",
            "Commands by name and outcome",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.captures = Counter(
            "orderledger_captures_total",
            "Capture attempts by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.webhooks = Counter(
            "orderledger_webhooks_total",
            "Stripe webhook deliveries by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.admin_auth_failures = Counter(
            "orderledger_admin_auth_failures_total",
            "Requests to /admin refused for a missing or wrong admin key",
            registry=self.registry,
        )
        self.appends = Histogram(
            "orderledger_event_store_append_seconds",
            "Event store append latency",
            registry=self.registry,
        )

    def watch_projections(self, status: Callable[[], Iterable[Any]]) -> None:
        self.registry.register(_ProjectionLag(status))


class _ProjectionLag(Collector):
    def __init__(self, status: Callable[[], Iterable[Any]]) -> None:
        self._status = status

    def collect(self) -> Iterable[GaugeMetricFamily]:
        events = GaugeMetricFamily(
            "orderledger_projection_lag_events", "Events not yet in the view", labels=["projection"]
        )
        seconds = GaugeMetricFamily(
            "orderledger_projection_lag_seconds", "Age of the view's lag", labels=["projection"]
        )
        try:
            for s in self._status():
                events.add_metric([s.name], s.lag_events)
                seconds.add_metric([s.name], s.lag_seconds)
        except Exception:  # a scrape must not fail because the database is away
            pass
        yield events
        yield seconds


class PrometheusTelemetry:
    """``commands.ports.Telemetry`` onto the metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def count(self, what: str, outcome: str) -> None:
        if what == "capture":
            self._metrics.captures.labels(outcome).inc()
        elif what == "webhook":
            self._metrics.webhooks.labels(outcome).inc()


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Metric labels come from closed sets only: a method outside _METHODS is "other", the
# route is the matched template (or "unmatched"), the status one the HTTP standard names.
_STATUSES = frozenset(str(int(s)) for s in HTTPStatus)
_ORDER_IN_PATH = re.compile(r"/orders/([0-9a-f-]{36})")
# A client's X-Request-ID is kept only when it is plain (1-64 of letters, digits and
# . _ - : @ + = /, enough for uuids, trace ids and base64): no spaces, quotes, markup.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@+=/-]{1,64}")
SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)


def method_label(method: str) -> str:
    return method if method in _METHODS else "other"


def status_label(status: int) -> str:
    text = str(status)
    return text if text in _STATUSES else f"{text[:1]}xx" if text[:1] in "12345" else "other"


class RequestLog:
    """Request id, one log line and the HTTP metrics for every request."""

    def __init__(self, app: ASGIApp, metrics: Callable[[], Metrics | None]) -> None:
        self.app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = header(scope, "x-request-id")
        if incoming is not None and not _SAFE_REQUEST_ID.fullmatch(incoming):
            incoming = None  # replaced: it would reach logs and other systems' headers
        request_id = incoming or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def tagged(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    *SECURITY_HEADERS,
                ]
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            duration = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = method_label(scope.get("method", ""))
            fields: dict[str, Any] = {
                # The client chose the request id (plain characters only): masked as any line is.
                "request_id": redact(request_id) if incoming else request_id,
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(duration * 1000, 2),
                # The real client (behind TRUSTED_PROXIES, see infra/web/client_identity.py).
                "client": (scope.get("client") or ("unknown", 0))[0],
            }
            if match := _ORDER_IN_PATH.search(scope.get("path", "")):
                fields["order_id"] = match.group(1)
            # Besides those: the route's template, status, duration and the order's uuid.
            request_log.info("request", extra={"fields": fields, "redacted": True})
            metrics = self._metrics()
            if metrics is not None:
                metrics.requests.labels(method, route, status_label(status)).inc()
                metrics.latency.labels(method, route).observe(duration)
                if method == "POST":
                    outcome = "ok" if status < 400 else "refused" if status < 500 else "error"
                    metrics.commands.labels(route, outcome).inc()
