"""The routes are matched in turn, the storefront's first: no route hides another."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import MutableMapping
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import Mount

from infra.app import create_app, mount_medusa
from infra.settings import Settings

SAMPLE = "00000000-0000-4000-8000-000000000001"  # fits a str and a UUID parameter
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:1/none")
    app = create_app(settings)
    mount_medusa(app, SimpleNamespace(settings=settings))  # type: ignore[arg-type]
    return app


def matched(app: FastAPI, method: str, path: str) -> Any:
    """The route the API's router picks for the request (its endpoint never runs)."""
    scope: dict[str, Any] = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "app": app,
        "root_path": "",
        "http_version": "1.1",
        "scheme": "http",
        "server": ("test", 80),
        "client": ("192.0.2.1", 1),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        pass

    async def route() -> None:
        # Without the middleware's request state the route's handling stops before
        # its endpoint; the route was chosen by then.
        with contextlib.suppress(Exception):
            await app.router(scope, receive, send)

    asyncio.run(route())
    return scope.get("route")


def test_every_route_answers_its_own_paths_whatever_came_before_it(app: FastAPI) -> None:
    templates = app.openapi()["paths"]
    assert "/store/products/{product_id}" in templates
    hidden = []
    for template, operations in templates.items():
        path = re.sub(r"\{[^}]+\}", SAMPLE, template)
        for method in (m for m in METHODS if m in operations):
            route = matched(app, method.upper(), path)
            if getattr(route, "path", None) != template or method.upper() not in route.methods:
                hidden.append(f"{method.upper()} {template} → {getattr(route, 'path', route)}")
    assert not hidden, hidden


def test_the_storefronts_reads_and_the_medusa_surface_are_matched_first(app: FastAPI) -> None:
    first = app.router.routes[0]
    assert isinstance(first, Mount) and first.path == "/medusa"
    # The native storefront's reads are the first included router.
    assert matched(app, "GET", f"/store/products/{SAMPLE}").path == "/store/products/{product_id}"
    included = [r for r in app.router.routes if hasattr(r, "original_router")]
    first_paths = {getattr(r, "path", "") for r in included[0].original_router.routes}
    assert "/store/products/{product_id}" in first_paths
    assert "/store/orders/by-payment-intent/{payment_intent_id}" in first_paths
