"""The admin console under ``/console``: server-rendered pages over the admin use cases
and views (no logic of its own, no table writes but its sessions and task log)."""

from fastapi import FastAPI

from infra.console import operations, orders, pages


def mount(app: FastAPI) -> None:
    """Serve the console from ``app`` (its pages, and how refusals are answered)."""
    app.include_router(pages.router)
    app.include_router(orders.router)
    app.include_router(operations.router)
    pages.install(app)
