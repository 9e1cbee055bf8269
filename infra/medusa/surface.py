"""The Medusa surface as an ASGI app of its own: its routes, error shape and CORS."""

from types import SimpleNamespace

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from infra.medusa import carts, customers, errors, orders, payments, products, regions, shipping

ALLOWED_HEADERS = ["content-type", "x-publishable-api-key", "x-medusa-locale", "authorization"]


class RoutesNamedUnderPrefix:
    """Request logs and metrics name a route by its template; the surface's templates
    (``/store/carts/{cart_id}``) would pass for the native API's, so they carry the prefix."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            path = getattr(scope.get("route"), "path", None)
            if isinstance(path, str) and not path.startswith(self.prefix):
                scope["route"] = SimpleNamespace(path=self.prefix + path)


def medusa_app(state: State, *, prefix: str, store_cors: list[str]) -> ASGIApp:
    """The surface, sharing ``state`` (services, reads, keys) with the main app."""
    app = FastAPI(
        title="orderledger: Medusa-compatible Store API",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
    )
    app.state = state
    errors.install(app)
    for module in (regions, products, carts, shipping, payments, orders, customers):
        app.include_router(module.router)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=store_cors,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=True,
        max_age=600,
    )
    return RoutesNamedUnderPrefix(app, prefix)
