"""Medusa's error shape ``{type, message}`` and statuses, on this surface only.

One table from the ledger's named errors to Medusa's error types; the native API keeps
its own ``{error, detail}`` (``infra.http_errors``).
"""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from commands import errors as app_errors
from commands.ledger import ConcurrentChange
from domain import errors as domain_errors
from infra.http_errors import CONFLICTS, UNAVAILABLE
from queries.errors import ReadError

log = logging.getLogger(__name__)

STATUS_BY_TYPE = {
    "not_allowed": 400,
    "invalid_data": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "duplicate_error": 422,
    "payment_authorization_error": 422,
    "unknown_error": 500,
}
# Medusa answers a conflict with this sentence whatever happened.
CONFLICT_MESSAGE = (
    "The request conflicted with another request. You may retry the request with the "
    "provided Idempotency-Key."
)

# Most specific first: the first class an error is an instance of decides.
TYPE_BY_ERROR: tuple[tuple[type[Exception], str], ...] = (
    (app_errors.NotAuthenticated, "unauthorized"),
    (app_errors.CardDeclined, "payment_authorization_error"),
    (app_errors.NotFound, "not_found"),
    (domain_errors.UnknownLineItem, "not_found"),
    (app_errors.InvalidRequest, "invalid_data"),
    (domain_errors.InvalidRequestValue, "invalid_data"),
    (domain_errors.InvalidMoney, "invalid_data"),
    (domain_errors.InvalidQuantity, "invalid_data"),
    (app_errors.PaymentSessionMissing, "invalid_data"),
    (ConcurrentChange, "conflict"),
    # Stock short, cart completed, payment not in a usable state: the request is refused.
    # Every error is named (the test that walks all errors says so): none falls through.
    *((kind, "not_allowed") for kind in CONFLICTS),
    (app_errors.IncrementUnavailable, "not_allowed"),
    (app_errors.InvalidWebhook, "not_allowed"),
    (app_errors.OrderNotCreated, "not_allowed"),
    (app_errors.PaymentProviderUnavailable, "not_allowed"),
    (app_errors.PaymentRequestRejected, "not_allowed"),
    (app_errors.VersionMismatch, "not_allowed"),
)


class MedusaError(Exception):
    """An error this surface raises in Medusa's own words."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message


def error_response(type_: str, message: str, status: int | None = None) -> JSONResponse:
    return JSONResponse(
        {"type": type_, "message": message}, status_code=status or STATUS_BY_TYPE[type_]
    )


def type_for(error: Exception) -> str:
    for kind, type_ in TYPE_BY_ERROR:
        if isinstance(error, kind):
            return type_
    return "unknown_error"


def install(app: FastAPI) -> None:
    """Every error on the Medusa surface becomes ``{type, message}``."""

    @app.exception_handler(MedusaError)
    async def medusa_error(_: Request, error: MedusaError) -> JSONResponse:
        return error_response(error.type, error.message)

    @app.exception_handler(domain_errors.DomainError)
    async def domain_error(_: Request, error: domain_errors.DomainError) -> JSONResponse:
        type_ = type_for(error)
        return error_response(type_, CONFLICT_MESSAGE if type_ == "conflict" else str(error))

    @app.exception_handler(ReadError)
    async def read_error(_: Request, error: ReadError) -> JSONResponse:
        # The read side's own statuses (404, 503 while a view catches up) in Medusa's words.
        type_ = {400: "invalid_data", 404: "not_found"}.get(error.status, "unknown_error")
        answer = error_response(type_, str(error), error.status)
        if error.retry_after is not None:
            answer.headers["Retry-After"] = str(error.retry_after)
        return answer

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error_response("invalid_data", "Invalid JSON in request body")
        message = "; ".join(
            f"{'.'.join(str(part) for part in p.get('loc', ()) if part not in ('body', 'query')) or 'body'}: "
            f"{p.get('msg', 'invalid')}"
            for p in problems[:10]
        )
        return error_response("invalid_data", message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            return error_response("not_found", "Not found")
        return error_response("invalid_data", str(error.detail), error.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        if isinstance(error, UNAVAILABLE):
            log.warning("store unavailable on %s: %s", request.url.path, error)
            return error_response(
                "unknown_error", "A backing store is unavailable; try again shortly.", 503
            )
        log.exception("unexpected error on %s", request.url.path)
        return error_response("unknown_error", "An unknown error occurred.")
