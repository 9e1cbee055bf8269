"""The Medusa surface as an ASGI app of its own: its routes, error shape and CORS."""

from fastapi import FastAPI
from starlette.datastructures import State
from starlette.middleware.cors import CORSMiddleware

from infra.medusa import carts, customers, errors, orders, payments, products, regions, shipping

ALLOWED_HEADERS = ["content-type", "x-publishable-api-key", "x-medusa-locale", "authorization"]


def medusa_app(state: State, *, store_cors: list[str]) -> FastAPI:
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
    return app
