"""Orders: the list, one order with its money timeline, and the actions on it.

Every action is the admin API's own use case (``commands``), asked for by a form with the
session's CSRF token, confirmed on a second page first; a refusal shows the API's error.
"""

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from commands import cancellation, capture, order_changes, refunds
from commands.errors import OrderNotFound, VersionMismatch
from domain.errors import DomainError, InvalidQuantity
from domain.lines import Line
from domain.money import Money
from infra.console import web
from infra.console.charts import money_timeline
from infra.console.confirmations import ConsoleConfirmations, new_token
from infra.console.pages import views
from infra.console.views import PAGE_SIZE, OrderFilter
from infra.console.web import PREFIX, CheckedForm, Form, Session
from queries.audit.replay import replay_order
from queries.audit.source import order_events

router = APIRouter(prefix=f"{PREFIX}/orders", include_in_schema=False)

STATUSES = ("placed", "captured", "canceled")
PAYMENT_STATUSES = ("authorized", "captured", "partially_refunded", "refunded", "canceled")
# Views an action's answer must reach before the order's page is shown again.
ORDER_VIEWS = ("admin_orders", "order_transactions", "capture_schedule")


@router.get("")
def orders(
    request: Request,
    session: Session,
    status: Annotated[str, Query(max_length=20)] = "",
    payment_status: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    chosen = OrderFilter(
        status=status if status in STATUSES else None,
        payment_status=payment_status if payment_status in PAYMENT_STATUSES else None,
        search=q,
        offset=offset,
    )
    rows, matching = views(request).orders(chosen)
    context = {
        "rows": rows,
        "matching": matching,
        "chosen": chosen,
        "statuses": STATUSES,
        "payment_statuses": PAYMENT_STATUSES,
        "page_size": PAGE_SIZE,
    }
    return web.page(request, "orders.html", context, session=session)


def _order_page(
    request: Request,
    session: Session,
    order_id: UUID,
    *,
    status: int = 200,
    problem: tuple[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    row = views(request).order(order_id)
    if row is None:
        return web.page(
            request,
            "refused.html",
            {"error": "NotFound", "detail": f"There is no order {order_id}."},
            status=404,
            session=session,
        )
    history = replay_order(order_id, *order_events(web.container(request).ledger, order_id))
    payment = row.get("payment") or {}
    # Shown only (the collection itself refuses more): from the replay, like the timeline.
    totals = history.totals if history else None
    refundable = totals.captured - totals.refunded if totals else 0
    context = {
        "order": row,
        "lines": [Line.from_data(item) for item in row["items"]],  # totals: the domain's rule
        "payment": payment,
        "refundable": refundable,
        "history": history,
        "chart": money_timeline(history) if history else "",
        "problem": problem,
        "done": done,
    }
    return web.page(request, "order.html", context, status=status, session=session)


@router.get("/{order_id}")
def order(
    request: Request,
    order_id: UUID,
    session: Session,
    done: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    return _order_page(request, session, order_id, done=done)


# --- actions ------------------------------------------------------------------------------

Action = Callable[[], int | None]  # reads the form, runs the use case, returns its position


def _confirm(
    request: Request, session: Session, order_id: UUID, form: Form, what: str
) -> HTMLResponse:
    context = {
        "what": what,
        "post_to": request.url.path,
        "fields": form.fields,
        "back": f"{PREFIX}/orders/{order_id}",
        "attempt": new_token(),
    }
    return web.page(request, "confirm.html", context, session=session)


async def _act(
    request: Request,
    session: Session,
    order_id: UUID,
    form: Form,
    *,
    what: str,
    action: str,
    run: Action,
) -> Response:
    """Confirm first; then run the use case, wait for the views, show the order again."""
    if form.get("confirmed") != "yes" or not form.get("attempt"):
        return _confirm(request, session, order_id, form, what)
    confirmations = ConsoleConfirmations(web.container(request).pool)
    claimed = await run_in_threadpool(
        confirmations.claim, form.get("attempt"), session.key_id, f"{action} {order_id}"
    )
    if not claimed:
        problem = ("AlreadySubmitted", "This confirmation was used before: done once, not again.")
        return _order_page(request, session, order_id, status=409, problem=problem)
    try:
        position = await run_in_threadpool(run)
    except DomainError as error:
        status, name, detail = web.outcome(error)
        return _order_page(request, session, order_id, status=status, problem=(name, detail))
    if position is not None:
        # Bounded: a lagging view shows the page a little stale rather than not at all.
        models = web.container(request).read_models
        await run_in_threadpool(models.wait_for, position, ORDER_VIEWS)
    return web.see(f"{PREFIX}/orders/{order_id}?done={action}")


def _by(session: Session) -> str:
    return f"admin-key:{session.key_id}"


@router.post("/{order_id}/capture")
async def capture_now(
    request: Request, order_id: UUID, session: Session, form: CheckedForm
) -> Response:
    services = web.container(request).services

    def run() -> int | None:
        return capture.capture_payment(services, order_id, by=_by(session)).position

    return await _act(
        request, session, order_id, form, what="Capture the payment now", action="capture", run=run
    )


@router.post("/{order_id}/cancel")
async def cancel(request: Request, order_id: UUID, session: Session, form: CheckedForm) -> Response:
    services = web.container(request).services

    def run() -> int | None:
        return cancellation.cancel_order(services, order_id, by=_by(session))

    return await _act(
        request,
        session,
        order_id,
        form,
        what="Cancel the order and release its payment",
        action="cancel",
        run=run,
    )


@router.post("/{order_id}/refund")
async def refund(request: Request, order_id: UUID, session: Session, form: CheckedForm) -> Response:
    services = web.container(request).services
    # The amount is typed in major units of the order's own currency (never the form's).
    currency = await run_in_threadpool(views(request).currency, order_id) or ""

    def run() -> int | None:
        if not currency:
            raise OrderNotFound(f"There is no order {order_id}.")
        # A bad amount is refused as the API refuses it: InvalidMoney.
        amount = Money.from_major(form.get("amount"), currency).amount
        reason = form.get("reason")[:500]
        return refunds.refund_payment(
            services, order_id, amount=amount, reason=reason, by=_by(session)
        )

    what = f"Refund {form.get('amount')} {currency.upper()}"
    return await _act(request, session, order_id, form, what=what, action="refund", run=run)


def _version(form: Form) -> int:
    text = form.get("version")
    if not text.isdigit() or len(text) > 9:
        raise VersionMismatch("The page did not say which order version it showed.")
    return int(text)


def _quantity(form: Form) -> int:
    text = form.get("quantity").strip()
    if not text.lstrip("-").isdigit() or len(text) > 9:
        raise InvalidQuantity(f"{text!r} is not a whole number of units.")
    return int(text)


@router.post("/{order_id}/line-items/{line_id}")
async def change_quantity(
    request: Request, order_id: UUID, line_id: str, session: Session, form: CheckedForm
) -> Response:
    services = web.container(request).services

    def run() -> int | None:
        return order_changes.change_line_item(
            services,
            order_id,
            line_id,
            quantity=_quantity(form),
            by=_by(session),
            expected_version=_version(form),
        ).position

    what = f"Set the quantity of line {form.get('title') or line_id} to {form.get('quantity')}"
    return await _act(request, session, order_id, form, what=what, action="quantity", run=run)


@router.post("/{order_id}/line-items")
async def add_line(
    request: Request, order_id: UUID, session: Session, form: CheckedForm
) -> Response:
    services = web.container(request).services

    def run() -> int | None:
        return order_changes.add_line_item(
            services,
            order_id,
            variant_id=form.get("variant_id").strip()[:64],
            quantity=_quantity(form),
            by=_by(session),
            expected_version=_version(form),
        ).position

    what = f"Add {form.get('quantity')} × {form.get('variant_id')}"
    return await _act(request, session, order_id, form, what=what, action="add-line", run=run)
