"""What the API shows besides the shop: ``/metrics`` and the API docs.

``/metrics``: with ``METRICS_PORT`` it is served on that port only (``METRICS_HOST``,
127.0.0.1 by default) and the API answers 404; else with ``METRICS_TOKEN`` it needs
``Authorization: Bearer <token>``; else it answers only to a loopback peer that did
not come through a proxy (a request carrying forwarded headers came from elsewhere).
``API_DOCS=false`` turns ``/docs``, ``/redoc`` and ``/openapi.json`` off (404).
"""

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

from prometheus_client import start_http_server

from infra.web.asgi import ASGIApp, Receive, Scope, Send, header, send_error
from infra.web.client_identity import PEER

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
_FORWARDED = (b"x-forwarded-for", b"forwarded", b"x-real-ip")


@dataclass(frozen=True)
class ExposurePolicy:
    metrics_port: int | None
    metrics_token: str | None
    api_docs: bool


class Exposure:
    def __init__(self, app: ASGIApp, policy: Callable[[], ExposurePolicy]) -> None:
        self.app = app
        self._policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path == "/metrics":
            refusal = metrics_refusal(scope, self._policy())
            if refusal is not None:
                await send_error(send, *refusal)
                return
        elif scope["type"] == "http" and path in DOCS_PATHS and not self._policy().api_docs:
            await send_error(send, 404, "NotFound", "Not Found")
            return
        await self.app(scope, receive, send)


def metrics_refusal(scope: Scope, policy: ExposurePolicy) -> tuple[int, str, str] | None:
    """Why this request may not read /metrics on the API's port, or None when it may."""
    if policy.metrics_port is not None:
        return 404, "NotFound", "Not Found"
    if policy.metrics_token is not None:
        scheme, _, presented = (header(scope, "authorization") or "").partition(" ")
        good = scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode(), policy.metrics_token.encode()
        )
        if good:
            return None
        return 401, "NotAuthenticated", "/metrics needs Authorization: Bearer <METRICS_TOKEN>."
    peer = str(scope.get(PEER) or (scope.get("client") or ("",))[0])
    proxied = any(key.lower() in _FORWARDED for key, _ in scope.get("headers", []))
    if _is_loopback(peer) and not proxied:
        return None
    return (
        403,
        "MetricsNotExposed",
        "/metrics answers loopback only; set METRICS_TOKEN or METRICS_PORT to scrape it.",
    )


def _is_loopback(address: str) -> bool:
    try:
        return ip_address(address).is_loopback
    except ValueError:
        return False


def start_metrics_port(port: int, host: str, registry: Any) -> Callable[[], None]:
    """Serve ``registry`` on its own port in a thread; returns how to stop it."""
    server, thread = start_http_server(port, addr=host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
