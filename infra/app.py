"""The ASGI application: routers, error handlers, and resources made in the lifespan."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from commands.api import admin_catalog, store_carts, stripe_webhook
from infra import http_errors
from infra.container import Container, build_container
from infra.health import router as health_router
from infra.settings import Settings


def create_app(
    settings: Settings | None = None, *, container_factory: Callable[[], Container] | None = None
) -> FastAPI:
    """The HTTP API. The container (database, Stripe, …) is built when the app starts."""

    def make_container() -> Container:
        if container_factory is not None:
            return container_factory()
        if settings is None:
            raise RuntimeError("create_app needs settings or a container factory")
        return build_container(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = make_container()
        attach(app, container)
        try:
            yield
        finally:
            if container_factory is None:
                container.close()

    app = FastAPI(
        title="orderledger",
        summary="Event-sourced order ledger: checkout, delayed capture, inventory, audit.",
        version="0.1.0",
        lifespan=lifespan,
    )
    http_errors.install(app)
    app.include_router(health_router)
    app.include_router(store_carts.router)
    app.include_router(admin_catalog.router)
    app.include_router(stripe_webhook.router)
    return app


def attach(app: FastAPI, container: Container) -> None:
    app.state.container = container
    app.state.services = container.services
    app.state.admin_keys = container.admin_keys
    app.state.webhook_verifier = container.webhook_verifier
