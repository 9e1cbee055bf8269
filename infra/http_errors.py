"""One table from named errors to HTTP statuses, and one JSON error shape."""

import logging

import psycopg
import psycopg_pool
import redis
from eventsourcing import persistence
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from commands import errors as app_errors
from commands.files.review_photos import ReviewModerated
from commands.files.uploads import UploadExpired
from commands.ledger import ConcurrentChange
from commands.reviews import DuplicateReview
from domain import errors as domain_errors
from domain.erasure import NotErasableYet
from domain.file_types import FileTooLarge, UnsupportedFileType
from domain.stored_file import FileGone, FileInUse
from queries.errors import ReadError

log = logging.getLogger(__name__)

# A store that cannot be reached is the service being unavailable, not a bug.
UNAVAILABLE: tuple[type[Exception], ...] = (
    persistence.OperationalError,
    persistence.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    psycopg_pool.PoolTimeout,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)

# Refused in the state the order, payment, cart, stock or file is in: a conflict (409).
# Every error is named here or above: the test that walks all errors fails on one that
# is not (an unnamed DomainError is a 500, never a silent 409).
CONFLICTS: tuple[type[Exception], ...] = (
    domain_errors.PaymentStateConflict,
    domain_errors.CartStateConflict,
    domain_errors.OrderStateConflict,
    domain_errors.OrderNotEditable,
    domain_errors.TooManyChanges,
    domain_errors.InsufficientStock,
    domain_errors.InvalidInventoryChange,
    domain_errors.ReleaseExceedsReserved,
    app_errors.AmountMismatchAtCheckout,
    app_errors.NoStockLocation,
    app_errors.NotOurPayment,
    app_errors.PaymentNotAuthorized,
    app_errors.PaymentSessionMissing,
    app_errors.ShippingAddressRequired,
    app_errors.ShippingMethodRequired,
    DuplicateReview,
    ReviewModerated,
    FileGone,
    FileInUse,
    NotErasableYet,
)

# Most specific first: the first class an error is an instance of decides.
STATUS_BY_ERROR: tuple[tuple[type[Exception], int], ...] = (
    (app_errors.NotAuthenticated, 401),
    (app_errors.CardDeclined, 402),
    (app_errors.NotFound, 404),
    (domain_errors.UnknownLineItem, 404),
    (app_errors.InvalidWebhook, 400),
    (FileTooLarge, 413),
    (UnsupportedFileType, 415),
    (UploadExpired, 410),
    (app_errors.InvalidRequest, 400),
    (domain_errors.InvalidRequestValue, 400),
    (domain_errors.InvalidMoney, 400),
    (domain_errors.InvalidQuantity, 400),
    (app_errors.PaymentProviderUnavailable, 503),
    (app_errors.OrderNotCreated, 409),
    (app_errors.IncrementUnavailable, 409),
    (app_errors.VersionMismatch, 409),
    (app_errors.PaymentRequestRejected, 409),
    (ConcurrentChange, 409),
    *((kind, 409) for kind in CONFLICTS),
)


def status_for(error: Exception) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 500


def error_response(status: int, name: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": name, "detail": detail}, status_code=status)


def read_error_response(error: ReadError) -> JSONResponse:
    """A read-side error (its status is part of its kind), with Retry-After when it has one."""
    answer = error_response(error.status, error.name, str(error))
    if error.retry_after is not None:
        answer.headers["Retry-After"] = str(error.retry_after)
    return answer


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into ``{"error", "detail"}``."""

    @app.exception_handler(domain_errors.DomainError)
    async def domain_error(_: Request, error: domain_errors.DomainError) -> JSONResponse:
        return error_response(status_for(error), error.name, str(error))

    @app.exception_handler(ReadError)
    async def read_error(_: Request, error: ReadError) -> JSONResponse:
        return read_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = error.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return error_response(400, "MalformedJSON", "The request body is not valid JSON.")
        detail = "; ".join(
            f"{'.'.join(str(part) for part in p.get('loc', ()) if part != 'body') or 'body'}: "
            f"{p.get('msg', 'invalid')}"
            for p in problems[:10]
        )
        return error_response(422, "ValidationError", detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        names = {404: "NotFound", 405: "MethodNotAllowed", 401: "NotAuthenticated"}
        return error_response(
            error.status_code, names.get(error.status_code, "HTTPError"), str(error.detail)
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        if isinstance(error, UNAVAILABLE):
            log.warning("store unavailable on %s: %s", request.url.path, error)
            return error_response(
                503, "ServiceUnavailable", "A backing store is unavailable; try again shortly."
            )
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, "InternalError", "Something went wrong; it has been logged.")
