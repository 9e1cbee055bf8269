"""``/health`` (the process answers) and ``/health/ready`` (it can do its work)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from infra.schema import SCHEMA

router = APIRouter(tags=["health"])

MAX_LAG_EVENTS = 10_000
MAX_LAG_SECONDS = 60.0
MAX_HEARTBEAT_AGE_SECONDS = 30.0


@router.get("/health")
def health() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


def readiness(container: Any) -> dict[str, str]:
    """What is not ready, by part (empty when ready)."""
    problems: dict[str, str] = {}
    try:
        with container.pool.connection(timeout=2.0) as conn:
            row = conn.execute(
                f"SELECT extract(epoch FROM now() - max(beat_at)) FROM {SCHEMA}.heartbeats "
                "WHERE name = 'worker'"
            ).fetchone()
        age = row[0] if row else None
        if age is None:
            problems["worker"] = "no worker has reported"
        elif float(age) > MAX_HEARTBEAT_AGE_SECONDS:
            problems["worker"] = f"last heartbeat {float(age):.0f} s ago"
        for status in container.projections.status():
            if status.lag_events > MAX_LAG_EVENTS or status.lag_seconds > MAX_LAG_SECONDS:
                problems[f"projection:{status.name}"] = (
                    f"{status.lag_events} events / {status.lag_seconds:.0f} s behind"
                )
    except Exception as error:  # any failure to reach the database means not ready
        problems["postgres"] = f"unreachable ({type(error).__name__})"
    if container.redis is not None:
        try:
            container.redis.ping()
        except Exception as error:
            problems["redis"] = f"unreachable ({type(error).__name__})"
    return problems


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready: PostgreSQL (and Redis) reachable, views caught up, a worker alive."""
    problems = await run_in_threadpool(readiness, request.app.state.container)
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})
