"""What every console page shares: templates, the session, forms with their CSRF token."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from domain.errors import DomainError
from domain.money import Money
from infra import http_errors
from infra.console.sessions import ConsoleSession, ConsoleSessions
from infra.container import Container

PREFIX = "/console"
COOKIE = "orderledger_console"
SIGN_IN_COOKIE = "orderledger_console_sign_in"
MAX_FORM_BYTES = 64 * 1024
HERE = Path(__file__).parent

# Pages are about money and people: never cached, never framed, scripts only our own.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def money(amount: int | None, currency: str | None) -> str:
    """Minor units as the shop reads them: ``2500, "eur"`` → ``25.00 EUR``."""
    if amount is None or not currency:
        return "–"
    try:
        return str(Money(int(amount), currency))
    except DomainError:
        return f"{amount} {currency.upper()} (minor units)"


def major(amount: int | None, currency: str) -> str:
    """Minor units as a form's value: ``2500, "eur"`` → ``25.00``."""
    try:
        return Money(int(amount or 0), currency).to_major()
    except DomainError:
        return str(amount or 0)


def when(value: datetime | str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@cache
def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, major=major, when=when)
    env.globals.update(prefix=PREFIX)
    return env


def container(request: Request) -> Container:
    found: Container = request.app.state.container
    return found


def sessions(request: Request) -> ConsoleSessions:
    return ConsoleSessions(container(request).pool)


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    *,
    status: int = 200,
    session: ConsoleSession | None = None,
) -> HTMLResponse:
    html = (
        templates()
        .get_template(template)
        .render({**context, "session": session, "path": request.url.path})
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def refusal(request: Request, status: int, error: str, detail: str) -> HTMLResponse:
    """A refused request, as a page: the same name and sentence the JSON API gives."""
    return page(request, "refused.html", {"error": error, "detail": detail}, status=status)


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


class NotSignedIn(Exception):
    """No live session: a page sends the browser to sign in, a form is refused."""


@dataclass(frozen=True)
class Form:
    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


async def read_form(request: Request) -> Form:
    """An urlencoded body (the only kind the console's forms send), first value per name."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return Form({})
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return Form({name: values[0] for name, values in parsed.items()})


def signed_in(request: Request) -> ConsoleSession:
    """The request's live session (its key not revoked), or ``NotSignedIn``."""
    found = sessions(request).find(request.cookies.get(COOKIE))
    if found is None:
        raise NotSignedIn()
    return found


Session = Annotated[ConsoleSession, Depends(signed_in)]


async def checked_form(request: Request, session: Session) -> Form:
    """The form of a signed-in request whose CSRF token is the session's own."""
    form = await read_form(request)
    if not session.csrf_matches(form.get("csrf") or None):
        raise BadCsrf()
    return form


class BadCsrf(Exception):
    """A form without this session's CSRF token: refused, nothing done."""


CheckedForm = Annotated[Form, Depends(checked_form)]


def outcome(error: Exception) -> tuple[int, str, str]:
    """A use case's refusal as the API gives it: status, error name, sentence."""
    name = error.name if isinstance(error, DomainError) else type(error).__name__
    return http_errors.status_for(error), name, str(error)
