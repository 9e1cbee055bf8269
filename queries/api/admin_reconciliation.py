"""``GET /admin/reconciliation``: the last reconcile run with Stripe and its findings.

The admin key is required by the app when it mounts this router.
"""

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

router = APIRouter(prefix="/admin", tags=["admin: reads"])


class ReconciliationRuns(Protocol):
    def latest(self) -> dict[str, Any] | None:
        """The last run's report (``id``, summary, ``findings``), or None before the first."""
        ...


async def _runs(request: Request) -> ReconciliationRuns:
    runs: ReconciliationRuns = request.app.state.reconciliation_runs
    return runs


@router.get("/reconciliation")
async def last_reconciliation(
    runs: Annotated[ReconciliationRuns, Depends(_runs)],
    action: Annotated[
        str | None, Query(pattern="^(recorded|released|reported)$", description="Only these.")
    ] = None,
) -> dict[str, Any]:
    """The last run: counts by kind, and each finding with both sides' figures.

    Before the first run: ``{"run": null, "findings": []}``.
    """
    latest = await run_in_threadpool(runs.latest)
    if latest is None:
        return {"run": None, "findings": []}
    findings = latest.pop("findings", [])
    if action is not None:
        findings = [f for f in findings if f.get("action") == action]
    return {"run": latest, "findings": findings}
