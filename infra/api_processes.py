"""``orderledger serve --workers N``: N API processes on one port (uvicorn's supervisor).

Each process builds everything of its own in its lifespan: the container (pools, the
event store's connection), the storefront's asyncio pool, the views' NOTIFY listener and
its waiters, the standby monitor. Nothing that must be shared lives in a process's
memory: idempotency records, console sessions and jobs, keys, the capture timers and the
order locks are in PostgreSQL or Redis. One thing would not be: the rate limits and the
admin-auth throttle count in memory without Redis, so N processes would allow N times
the limits. ``serve --workers N`` therefore needs REDIS_URL; it also needs DATABASE_URL
(N processes cannot each start an embedded PostgreSQL in one data folder).
"""

from __future__ import annotations

import sys

from fastapi import FastAPI

from infra.settings import Settings, load_settings


def refusal(settings: Settings, workers: int) -> str | None:
    """Why ``serve --workers N`` cannot run with these settings, or None."""
    if workers <= 1:
        return None
    if not settings.database_url:
        return "serve --workers N needs DATABASE_URL (the embedded PostgreSQL is one process's)"
    if not settings.redis_url:
        return (
            "serve --workers N needs REDIS_URL: without Redis each process counts the rate "
            "limits on its own, allowing N times each limit"
        )
    return None


def app_from_environment() -> FastAPI:
    """The app of one API process (uvicorn calls this in each, ``factory=True``)."""
    from infra.app import create_app
    from infra.log_format import choose_format, configure

    settings = load_settings()
    configure(choose_format(settings.log_format, dev=False, stream=sys.stderr))
    return create_app(settings)
