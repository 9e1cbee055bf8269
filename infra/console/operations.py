"""Inventory, review moderation, and the views and audit: pages and their actions.

Actions run the admin API's own use cases; a refusal shows the API's error on the page.
"""

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from commands import reviews
from commands.inventory import update_inventory_level
from domain.errors import DomainError, InvalidQuantity
from infra.console import web
from infra.console.jobs import ConsoleJobs
from infra.console.pages import views
from infra.console.views import LEVELS_PAGE
from infra.console.web import PREFIX, CheckedForm, Session
from queries.images import images_from

router = APIRouter(prefix=PREFIX, include_in_schema=False)

REVIEW_STATUSES = ("pending", "approved", "rejected")


def _by(session: Session) -> str:
    return f"admin-key:{session.key_id}"


async def _run(
    request: Request, run: Callable[[], int | None], view: str
) -> tuple[int, str, str] | None:
    """Run a use case and wait (bounded) for ``view``; its refusal as the API gives it."""
    try:
        position = await run_in_threadpool(run)
    except DomainError as error:
        return web.outcome(error)
    if position is not None:
        models = web.container(request).read_models
        await run_in_threadpool(models.wait_for, position, (view,))
    return None


# --- inventory ----------------------------------------------------------------------------


def _inventory_page(
    request: Request,
    session: Session,
    variant: str = "",
    offset: int = 0,
    *,
    status: int = 200,
    problem: tuple[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    data = views(request).inventory(variant, offset)
    context = {
        "data": data,
        "variant": variant,
        "offset": offset,
        "page_size": LEVELS_PAGE,
        "problem": problem,
        "done": done,
    }
    return web.page(request, "inventory.html", context, status=status, session=session)


@router.get("/inventory")
def inventory(
    request: Request,
    session: Session,
    variant: Annotated[str, Query(max_length=64)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    done: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    return _inventory_page(request, session, variant.strip(), offset, done=done)


def _whole(text: str) -> int:
    text = text.strip()
    if not text.lstrip("-+").isdigit() or len(text) > 10:
        raise InvalidQuantity(f"{text!r} is not a whole number of units.")
    return int(text)


@router.post("/inventory")
async def change_inventory(request: Request, session: Session, form: CheckedForm) -> Response:
    """Adjust stock by a number of units, or switch backorders on or off, for one level."""
    services = web.container(request).services
    variant_id, location_id = form.get("variant_id")[:64], form.get("location_id")[:64]

    def run() -> int | None:
        adjustment = _whole(form.get("adjustment")) if form.get("adjustment").strip() else None
        backorder = {"on": True, "off": False}.get(form.get("allow_backorder"))
        return update_inventory_level(
            services,
            variant_id=variant_id,
            location_id=location_id,
            stocked_quantity=None,
            adjustment=adjustment,
            allow_backorder=backorder,
            by=_by(session),
        ).position

    refused = await _run(request, run, "inventory_levels")
    back = form.get("variant")[:64]
    if refused:
        status, name, detail = refused
        return _inventory_page(request, session, back, status=status, problem=(name, detail))
    return web.see(f"{PREFIX}/inventory?{urlencode({'variant': back, 'done': 'stock'})}")


# --- reviews ------------------------------------------------------------------------------


def _reviews_page(
    request: Request,
    session: Session,
    status_shown: str,
    *,
    status: int = 200,
    problem: tuple[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    data = views(request).reviews(status_shown)
    url_for = getattr(request.app.state, "file_url", None)
    for review in data.get("reviews") or []:
        # The photos the review's album keeps, as the moderator's browser reads them.
        review["photos"] = images_from(review.get("photos"), url_for) if url_for else []
    context = {
        "data": data,
        "shown": status_shown,
        "statuses": REVIEW_STATUSES,
        "problem": problem,
        "done": done,
    }
    return web.page(request, "reviews.html", context, status=status, session=session)


@router.get("/reviews")
def reviews_page(
    request: Request,
    session: Session,
    status: Annotated[str, Query(max_length=20)] = "pending",
    done: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    return _reviews_page(
        request, session, status if status in REVIEW_STATUSES else "pending", done=done
    )


@router.post("/reviews/{review_id}/{decision}")
async def moderate(
    request: Request, review_id: UUID, decision: str, session: Session, form: CheckedForm
) -> Response:
    services = web.container(request).services
    if decision not in ("approve", "reject"):
        return web.refusal(request, 404, "NotFound", "A review is approved or rejected.")

    def run() -> int | None:
        if decision == "approve":
            return reviews.approve_review(services, review_id, by=_by(session)).position
        reason = form.get("reason")[:500]
        return reviews.reject_review(services, review_id, reason=reason, by=_by(session)).position

    refused = await _run(request, run, "reviews")
    if refused:
        status, name, detail = refused
        return _reviews_page(request, session, "pending", status=status, problem=(name, detail))
    return web.see(f"{PREFIX}/reviews?done={decision}")


# --- projections and audit ----------------------------------------------------------------


@router.get("/projections")
def projections(request: Request, session: Session) -> HTMLResponse:
    data = views(request).projections()
    return web.page(request, "projections.html", {"data": data}, session=session)


@router.post("/projections/rebuild")
async def rebuild(request: Request, session: Session, form: CheckedForm) -> Response:
    jobs = ConsoleJobs(web.container(request))
    name = form.get("name")[:64]
    if form.get("confirmed") != "yes":
        context = {
            "what": f"Rebuild the view {name} from the event store",
            "post_to": f"{PREFIX}/projections/rebuild",
            "fields": form.fields,
            "back": f"{PREFIX}/projections",
        }
        return web.page(request, "confirm.html", context, session=session)
    try:
        job_id = await run_in_threadpool(jobs.rebuild, name, by=_by(session))
    except KeyError:
        return web.refusal(request, 404, "NotFound", f"There is no view {name!r}.")
    return web.see(f"{PREFIX}/jobs/{job_id}")


@router.post("/audit/verify")
async def verify(request: Request, session: Session, form: CheckedForm) -> Response:
    jobs = ConsoleJobs(web.container(request))
    job_id = await run_in_threadpool(jobs.verify, by=_by(session))
    return web.see(f"{PREFIX}/jobs/{job_id}")


@router.get("/jobs/{job_id}")
def job(request: Request, job_id: str, session: Session) -> HTMLResponse:
    found = ConsoleJobs(web.container(request)).get(job_id[:32])
    if found is None:
        return web.refusal(request, 404, "NotFound", "There is no such task.")
    return web.page(request, "job.html", {"job": found}, session=session)
