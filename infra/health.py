"""``/health``: the process answers. Readiness grows with the operations issue."""

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready")
async def ready(request: Request) -> JSONResponse:
    container = request.app.state.container
    problems: dict[str, str] = {}

    def check() -> None:
        try:
            with container.pool.connection() as conn:
                conn.execute("SELECT 1")
        except Exception as error:  # any failure means not ready
            problems["postgres"] = type(error).__name__
        if container.redis is not None:
            try:
                container.redis.ping()
            except Exception as error:
                problems["redis"] = type(error).__name__

    await run_in_threadpool(check)
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})
