"""The ASGI application: routers, error handlers, and resources made in the lifespan."""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.routing import Mount

from commands.api import (
    admin_catalog,
    admin_inventory,
    admin_orders,
    order_changes,
    review_photos,
    store_carts,
    stripe_webhook,
    uploads,
)
from commands.api import reviews as review_commands
from commands.api.deps import require_admin
from infra import console, http_errors
from infra.container import Container, build_container
from infra.customer_routes import router as customer_router
from infra.file_routes import router as file_router
from infra.health import router as health_router
from infra.medusa.edge_errors import MedusaEdgeErrors
from infra.medusa.surface import medusa_app
from infra.reads_by_id import attach_reads_by_id
from infra.settings import Settings
from infra.standby_reads import AsyncStandbyReads
from infra.storefront_reads import AsyncStorefrontReads
from infra.web.admin_gate import AdminGate
from infra.web.client_identity import ClientAddress, TrustedProxies
from infra.web.cors import CorsPerSurface
from infra.web.exposure import Exposure, ExposurePolicy, start_metrics_port
from infra.web.idempotency import Idempotency
from infra.web.limits import BodySizeLimit, RateLimit, rate_store
from infra.web.observability import RequestLog
from infra.web.request_deadline import RequestDeadline
from infra.worker import Worker
from queries.api import admin as admin_reads
from queries.api import admin_reconciliation
from queries.api import history as audit_history
from queries.api import notifications as notification_reads
from queries.api import reviews as review_reads
from queries.api import store as store_reads


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
        mount_medusa(app, container)
        storefront = await AsyncStorefrontReads.open(
            container.database_url, standbys=read_from_standbys(container)
        )
        app.state.storefront_reads = storefront
        positions = attach_reads_by_id(app, container, storefront)
        worker = Worker(container) if run_worker else None
        if worker is not None:
            worker.start()
        port = container.settings.metrics_port
        stop_metrics = (
            start_metrics_port(port, container.settings.metrics_host, app.state.metrics.registry)
            if port is not None
            else None
        )
        try:
            yield
        finally:
            if stop_metrics is not None:
                stop_metrics()
            if worker is not None:
                worker.stop()
            await positions.close()
            await storefront.close()
            await app.state.rates.close()
            if container_factory is None:
                container.close()

    app = FastAPI(
        title="orderledger",
        summary="Event-sourced order ledger: checkout, delayed capture, inventory, audit.",
        version="0.1.0",
        lifespan=lifespan,
    )
    http_errors.install(app)
    # A request is matched against the routes in turn, so the storefront's reads, the
    # most frequent requests, come first (15% of a product page's CPU in the app went to
    # matching it against the routes before them). No route hides another whatever the
    # order: tests/unit/test_route_order.py.
    app.include_router(store_reads.router)
    app.include_router(health_router)
    app.include_router(store_carts.router)
    app.include_router(admin_catalog.router)
    app.include_router(admin_orders.router)
    app.include_router(admin_inventory.router)
    app.include_router(order_changes.admin)
    app.include_router(order_changes.store)
    app.include_router(stripe_webhook.router)
    app.include_router(admin_reads.router, dependencies=[Depends(require_admin)])
    app.include_router(review_commands.store)
    app.include_router(review_commands.admin)
    app.include_router(review_reads.store)
    app.include_router(review_reads.admin, dependencies=[Depends(require_admin)])
    app.include_router(notification_reads.router, dependencies=[Depends(require_admin)])
    app.include_router(audit_history.router, dependencies=[Depends(require_admin)])
    app.include_router(uploads.router)
    app.include_router(review_photos.store)
    app.include_router(file_router)
    console.mount(app)
    app.include_router(admin_reconciliation.router, dependencies=[Depends(require_admin)])
    app.include_router(customer_router)

    install_error_schema(app)

    @app.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        return Response(
            generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    def surfaces() -> dict[str, list[str]]:
        settings = app.state.container.settings
        return {
            "/store": settings.store_cors,
            "/admin": settings.admin_cors,
            "/auth": settings.auth_cors,
        }

    def settings_now() -> Settings:
        current: Settings = app.state.container.settings
        return current

    def exposure() -> ExposurePolicy:
        token = settings_now().metrics_token
        return ExposurePolicy(
            metrics_port=settings_now().metrics_port,
            metrics_token=token.get_secret_value() if token else None,
            api_docs=settings_now().api_docs,
        )

    # Outermost last: the request's deadline for database waits → client address → request
    # log → exposure → CORS → Medusa's words for the edge's refusals → admin key → rate
    # limit → body limit → idempotency → routes. Nothing reads a body before the admin key
    # and the rate limit have let the request through.
    app.add_middleware(
        Idempotency,
        pool=lambda: app.state.container.pool,
        authorize_order=lambda: app.state.authorize_order,
    )
    app.add_middleware(BodySizeLimit)
    app.add_middleware(
        RateLimit,
        store=lambda: app.state.rates,
        allowances=lambda: {
            "carts": settings_now().rate_limit_carts_per_minute,
            "reviews": settings_now().rate_limit_reviews_per_minute,
            "writes": settings_now().rate_limit_writes_per_minute,
            "checkout": settings_now().rate_limit_checkout_per_minute,
            "per_resource": settings_now().rate_limit_per_cart_per_minute,
            "storefront_factor": settings_now().rate_limit_storefront_factor,
        },
        identities=lambda: app.state.identities,
        surfaces=lambda: (settings_now().medusa_prefix,),
    )
    app.add_middleware(
        AdminGate,
        keys=lambda: app.state.admin_keys,
        rates=lambda: app.state.rates,
        allowed_failures=lambda: settings_now().admin_auth_failures_per_minute,
        failures=lambda: app.state.metrics.admin_auth_failures,
    )
    app.add_middleware(MedusaEdgeErrors, prefix=lambda: settings_now().medusa_prefix)
    app.add_middleware(CorsPerSurface, surfaces=surfaces)
    app.add_middleware(Exposure, policy=exposure)
    app.add_middleware(RequestLog, metrics=lambda: getattr(app.state, "metrics", None))
    app.add_middleware(
        ClientAddress, trusted=lambda: TrustedProxies(settings_now().trusted_proxies)
    )
    app.add_middleware(RequestDeadline)

    return app


def attach(app: FastAPI, container: Container) -> None:
    """The routes' references, all taken from the built container; only the rate store
    is made here, per app: its asyncio Redis client belongs to the app's event loop."""
    app.state.container = container
    app.state.metrics = container.metrics
    app.state.rates = rate_store(container.settings.redis_url if container.redis else None)
    app.state.identities = container.identities
    app.state.authorize_order = container.authorize_order
    app.state.services = container.services
    app.state.admin_keys = container.admin_keys
    app.state.webhook_verifier = container.webhook_verifier
    app.state.read_models = container.read_models
    app.state.publishable_keys = container.publishable_keys
    app.state.medusa_catalog = container.medusa_catalog
    if container.files is not None:
        app.state.files = container.files
        app.state.product_images = container.files.reads
        app.state.file_url = container.files.url_for
    app.state.reconciliation_runs = container.reconciliation_runs


def read_from_standbys(container: Container) -> AsyncStandbyReads | None:
    """READ_DATABASE_URL: watch the standbys (their lag, in the metrics) and read the views there."""
    if container.standbys is None:
        return None
    container.standbys.start()
    return AsyncStandbyReads(container.standbys)


def mount_medusa(app: FastAPI, container: Container) -> None:
    """The Medusa-compatible Store API under ``MEDUSA_PREFIX``, sharing this app's state."""
    settings = container.settings
    prefix = settings.medusa_prefix
    surface = medusa_app(app.state, prefix=prefix, store_cors=settings.store_cors)
    # First, as the storefront's reads: a storefront's every request is under the prefix.
    app.router.routes.insert(0, Mount(prefix, app=surface))


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "The error's name, e.g. CardDeclined."},
        "detail": {"type": "string", "description": "A human sentence."},
    },
}
ERROR_STATUSES = {
    "400": "Bad request",
    "401": "No or invalid admin key",
    "402": "Card declined",
    "404": "Unknown",
    "409": "State conflict",
    "410": "Expired",
    "413": "Body too large",
    "415": "Unsupported file type",
    "422": "Invalid body",
    "429": "Too many requests",
    "503": "A backing store is unavailable",
}


def install_error_schema(app: FastAPI) -> None:
    """Publish the one error shape for every operation (FastAPI's own 422 shape is not ours)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Error"] = ERROR_SCHEMA
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    for status, description in ERROR_STATUSES.items():
                        responses[status] = {
                            "description": description,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Error"}
                                }
                            },
                        }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
