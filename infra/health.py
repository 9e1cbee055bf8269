"""``/health`` (the process answers), ``/health/ready`` (this process can serve) and
``/health/status`` (how the workers and the views are doing).

Readiness is about this process only: PostgreSQL and, when configured, Redis reachable.
Checkout, webhooks and order changes do not need a worker (captures are durable and catch
up), so a stopped worker must not take every API replica out of a load balancer's
rotation. The workers' heartbeats and the views' lag are reported by ``/health/status``
(no secrets, no personal data) and as metrics (``infra.health_metrics``), for alerting.
"""

import os
import socket
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from infra.duties import duty_holders
from infra.pg import Pool
from infra.schema import SCHEMA

router = APIRouter(tags=["health"])

MAX_LAG_EVENTS = 10_000
MAX_LAG_SECONDS = 60.0
MAX_HEARTBEAT_AGE_SECONDS = 30.0
# A worker silent for this long is forgotten (a crashed one is named as stale until then).
FORGET_WORKER_AFTER_SECONDS = 3600.0


def worker_name() -> str:
    """This process's name among the workers: host and process id."""
    return f"worker@{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class WorkerBeat:
    worker: str
    age_seconds: float

    @property
    def fresh(self) -> bool:
        return self.age_seconds <= MAX_HEARTBEAT_AGE_SECONDS


def worker_beats(pool: Pool, timeout: float = 2.0) -> list[WorkerBeat]:
    """Every worker heard from within ``FORGET_WORKER_AFTER_SECONDS``, freshest first."""
    with pool.connection(timeout=timeout) as conn:
        rows = conn.execute(
            f"SELECT name, extract(epoch FROM now() - beat_at) FROM {SCHEMA}.heartbeats "
            "WHERE name LIKE 'worker%%' AND beat_at > now() - make_interval(secs => %s) "
            "ORDER BY beat_at DESC, name",
            (FORGET_WORKER_AFTER_SECONDS,),
        ).fetchall()
    return [WorkerBeat(str(name), max(float(age), 0.0)) for name, age in rows]


@router.get("/health")
async def health() -> dict[str, str]:
    """Alive: the process answers."""
    return {"status": "ok"}


def readiness(container: Any) -> dict[str, str]:
    """What this process cannot reach, by part (empty when it can serve)."""
    problems: dict[str, str] = {}
    try:
        with container.pool.connection(timeout=2.0) as conn:
            conn.execute("SELECT 1").fetchone()
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
    """Ready: this process reaches PostgreSQL (and Redis, when configured)."""
    problems = await run_in_threadpool(readiness, request.app.state.container)
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


def status_of(container: Any) -> dict[str, Any]:
    """The workers by name (fresh or stale) and each view's lag; ``problems`` names what
    an operator should look at."""
    problems: dict[str, str] = {}
    beats = worker_beats(container.pool)
    if not any(beat.fresh for beat in beats):
        problems["worker"] = "no worker has reported in the last 30 s"
    for beat in beats:
        if not beat.fresh:
            problems[beat.worker] = f"stale: last heartbeat {beat.age_seconds:.0f} s ago"
    views = []
    for view in container.projections.status():
        behind = view.lag_events > MAX_LAG_EVENTS or view.lag_seconds > MAX_LAG_SECONDS
        if behind:
            problems[f"projection:{view.name}"] = (
                f"{view.lag_events} events / {view.lag_seconds:.0f} s behind"
            )
        views.append(
            {
                "name": view.name,
                "position": view.position,
                "head": view.head,
                "lag_events": view.lag_events,
                "lag_seconds": round(view.lag_seconds, 3),
                "behind": behind,
            }
        )
    return {
        "status": "degraded" if problems else "ok",
        "problems": problems,
        "workers": [
            {
                "name": beat.worker,
                "last_heartbeat_seconds_ago": round(beat.age_seconds, 3),
                "fresh": beat.fresh,
            }
            for beat in beats
        ],
        "views": views,
        # Which worker runs each duty now (infra.duties); a duty missing here runs nowhere.
        "duties": {holder.duty: holder.worker for holder in duty_holders(container.pool)},
        **standbys_of(container),
    }


def standbys_of(container: Any) -> dict[str, Any]:
    """READ_DATABASE_URL's standbys: whether reads go there now, and how far behind."""
    standbys = getattr(container, "standbys", None)
    if standbys is None:
        return {}
    return {
        "standbys": [
            {
                "name": name,
                "reading": standbys.usable_index_ok(index),
                "lag_seconds": standbys.lag_seconds[index],
            }
            for index, name in enumerate(standbys.names)
        ]
    }


@router.get("/health/status")
async def status(request: Request) -> JSONResponse:
    """The workers and the views, for people and alerting (not for a load balancer):
    200 with ``status`` ok or degraded; 503 only when the database cannot be asked."""
    try:
        report = await run_in_threadpool(status_of, request.app.state.container)
    except Exception as error:
        return JSONResponse(
            {"status": "unavailable", "problems": {"postgres": type(error).__name__}},
            status_code=503,
        )
    return JSONResponse(report)
