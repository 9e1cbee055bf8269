"""The ASGI application: routers, error handlers, and resources made in the lifespan."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from commands.api import admin_catalog, admin_orders, order_changes, store_carts, stripe_webhook
from commands.api.deps import require_admin
from infra import http_errors
from infra.container import Container, build_container
from infra.health import router as health_router
from infra.settings import Settings
from infra.worker import Worker
from queries.api import admin as admin_reads
from queries.api import store as store_reads
from queries.errors import NotFoundError


def create_app(
    settings: Settings | None = None,
    *,
    container_factory: Callable[[], Container] | None = None,
    run_worker: bool = False,
) -> FastAPI:
    """The HTTP API. The container (database, Stripe, …) is built when the app starts.

    With ``run_worker`` the background work (projections, …) runs in this process too,
    as ``orderledger dev`` wants.
    """

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
        worker = Worker(container) if run_worker else None
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
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
    app.include_router(admin_orders.router)
    app.include_router(order_changes.admin)
    app.include_router(order_changes.store)
    app.include_router(stripe_webhook.router)
    app.include_router(store_reads.router)
    app.include_router(admin_reads.router, dependencies=[Depends(require_admin)])

    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, error: NotFoundError) -> JSONResponse:
        return http_errors.error_response(404, error.name, str(error))

    return app


def attach(app: FastAPI, container: Container) -> None:
    app.state.container = container
    app.state.services = container.services
    app.state.admin_keys = container.admin_keys
    app.state.webhook_verifier = container.webhook_verifier
    app.state.read_models = container.read_models
