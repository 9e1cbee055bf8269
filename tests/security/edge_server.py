"""The API as ``orderledger serve`` runs it, for the attacks of issue #18 (web layer).

Unlike the e2e suite's server this one runs uvicorn with the options the CLI passes
(``UVICORN_OPTIONS``: forwarded headers judged by TRUSTED_PROXIES alone), so what the
tests see is what a deployment sees. Clients can speak from another loopback address
(``peer="127.0.0.2"``) to play an untrusted peer beside a trusted proxy at 127.0.0.1.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from commands.ports import Clock
from infra.app import create_app
from infra.container import build_container, utc_now
from infra.settings import Settings
from infra.stripe_emulator import free_port
from infra.web.client_identity import UVICORN_OPTIONS
from tests.e2e.conftest import WEBHOOK_SECRET, LiveServer


@dataclass
class EdgeServer(LiveServer):
    app: Any = None  # the running FastAPI app (its state holds the limiter's identities)


NO_STRIPE = "http://127.0.0.1:9"  # for servers whose tests never reach Stripe
UNLIMITED = 1_000_000


@contextmanager
def edge_server(
    database_url: str,
    redis_url: str | None,
    stripe_api_base: str = NO_STRIPE,
    *,
    clock: Clock = utc_now,
    **overrides: Any,
) -> Iterator[EdgeServer]:
    """The API with its worker on 127.0.0.1; every limit off unless ``overrides`` set it;
    ``clock`` is the application's clock."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "stripe_api_key": "sk_test_e2e",
        "stripe_api_base": stripe_api_base,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "rate_limit_carts_per_minute": UNLIMITED,
        "rate_limit_reviews_per_minute": UNLIMITED,
        "rate_limit_writes_per_minute": UNLIMITED,
        "rate_limit_checkout_per_minute": UNLIMITED,
        "rate_limit_per_cart_per_minute": UNLIMITED,
        "admin_auth_failures_per_minute": UNLIMITED,
    }
    container = build_container(Settings(**{**values, **overrides}), clock=clock)
    _, admin_key = container.admin_keys.create("security")
    app = create_app(container_factory=lambda: container, run_worker=True)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=free_port(), log_level="warning", **UVICORN_OPTIONS
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield EdgeServer(
            url=f"http://127.0.0.1:{config.port}",
            container=container,
            admin_key=admin_key,
            emulator_url=stripe_api_base,
            app=app,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.close()


def client_of(server: LiveServer, *, peer: str = "127.0.0.1", **kwargs: Any) -> httpx.Client:
    """An HTTP client whose TCP connections come from ``peer`` (any 127.0.0.0/8 address)."""
    transport = httpx.HTTPTransport(local_address=peer)
    return httpx.Client(base_url=server.url, timeout=30.0, transport=transport, **kwargs)


def an_address() -> str:
    """A documentation address (TEST-NET-3) no other test uses: limits count per address."""
    n = uuid.uuid4().int
    return f"203.0.{n % 250 + 1}.{(n >> 8) % 250 + 1}"


def a_cart_body() -> dict[str, Any]:
    """A cart for a region that does not exist: refused after the limits, nothing written."""
    return {"region_id": "no-such-region", "sales_channel_id": "none", "email": "ada@example.com"}
