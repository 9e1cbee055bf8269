"""Sign-in, sign-out, the overview, and the console's own static files."""

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from psycopg import sql

from infra.console import web
from infra.console.sessions import SESSION_LIFETIME
from infra.console.views import ConsoleViews
from infra.console.web import COOKIE, HEADERS, PREFIX, SIGN_IN_COOKIE, Session

router = APIRouter(prefix=PREFIX, include_in_schema=False)

STATIC = {
    "console.css": "text/css; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
}


def views(request: Request) -> ConsoleViews:
    """The console's reads, over the same pool as the rest of the API."""
    container = web.container(request)
    recorder: Any = container.ledger.recorder
    table = sql.Identifier(recorder.datastore.schema, recorder.events_table_name)
    return ConsoleViews(container.pool, table)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.api_route("/static/{name}", methods=["GET", "HEAD"])
def static(name: str) -> Response:
    if name not in STATIC:
        return Response("Not found", status_code=404, media_type="text/plain")
    return FileResponse(
        web.HERE / "static" / name,
        media_type=STATIC[name],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/sign-in")
def sign_in_page(request: Request, error: str = "") -> HTMLResponse:
    # A pre-session CSRF token (double submit): a sign-in form from elsewhere fails.
    token = secrets.token_urlsafe(24)
    problem = "That admin key is not valid (or has been revoked)." if error == "key" else ""
    if error == "form":
        problem = "The sign-in form had expired; please try again."
    response = web.page(request, "sign_in.html", {"csrf": token, "problem": problem})
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=600,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the admin key once; the browser keeps only a session cookie."""
    form = await web.read_form(request)
    expected = request.cookies.get(SIGN_IN_COOKIE) or ""
    presented = form.get("csrf")
    if not expected or not hmac.compare_digest(expected, presented):
        return web.see(f"{PREFIX}/sign-in?error=form")
    container = web.container(request)
    key_id = await run_in_threadpool(container.admin_keys.verify, form.get("key").strip())
    if key_id is None:
        return web.see(f"{PREFIX}/sign-in?error=key")
    token = await run_in_threadpool(web.sessions(request).start, key_id)
    response = web.see(PREFIX)
    response.delete_cookie(SIGN_IN_COOKIE, path=PREFIX)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request, form: web.CheckedForm) -> Response:
    await run_in_threadpool(web.sessions(request).end, request.cookies.get(COOKIE))
    response = web.see(f"{PREFIX}/sign-in")
    response.delete_cookie(COOKIE, path=PREFIX)
    return response


@router.get("")
def overview(request: Request, session: Session) -> HTMLResponse:
    data = views(request).overview()
    return web.page(request, "overview.html", {"data": data}, session=session)


def install(app: Any) -> None:
    """What the router cannot carry itself: how refused requests are answered."""

    async def not_signed_in(request: Request, _: Exception) -> Response:
        if request.method == "GET":
            return RedirectResponse(f"{PREFIX}/sign-in", status_code=303, headers=HEADERS)
        return web.refusal(
            request, 401, "NotAuthenticated", "Sign in to the console first: no live session."
        )

    async def bad_csrf(request: Request, _: Exception) -> Response:
        return web.refusal(
            request,
            403,
            "CsrfRejected",
            "The form's CSRF token is not this session's: nothing was done.",
        )

    app.add_exception_handler(web.NotSignedIn, not_signed_in)
    app.add_exception_handler(web.BadCsrf, bad_csrf)
