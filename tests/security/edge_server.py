"""The API as ``orderledger serve`` runs it, for the attacks of issue #18 (web layer).

Unlike the e2e suite's server this one runs uvicorn with the options the CLI passes
(``UVICORN_OPTIONS``: forwarded headers judged by TRUSTED_PROXIES alone), so what the
tests see is what a deployment sees. Clients can speak from another loopback address
(``peer="127.0.0.2"``) to play an untrusted peer beside a trusted proxy at 127.0.0.1.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from commands.ports import Clock
from infra.container import utc_now
from infra.web.client_identity import UVICORN_OPTIONS
from tests.e2e.conftest import LiveServer, server_settings, serving

NO_STRIPE = "http://127.0.0.1:9"  # for servers whose tests never reach Stripe


@contextmanager
def edge_server(
    database_url: str,
    redis_url: str | None,
    stripe_api_base: str = NO_STRIPE,
    *,
    clock: Clock = utc_now,
    **overrides: Any,
) -> Iterator[LiveServer]:
    """The API with its worker on 127.0.0.1; every limit off unless ``overrides`` set it;
    ``clock`` is the application's clock."""
    settings = server_settings(database_url, redis_url, stripe_api_base, **overrides)
    with serving(
        settings,
        emulator_url=stripe_api_base,
        clock=clock,
        admin_key_name="security",
        lifespan="auto",  # uvicorn's default, as ``orderledger serve`` leaves it
        **UVICORN_OPTIONS,
    ) as live:
        yield live


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
