"""Every error the ledger raises has its HTTP meaning named at the edge.

Walks every subclass of ``DomainError`` in the code (all modules imported): each must
match a row of the native table and of the Medusa surface's table other than a
catch-all; an error added without a row fails here instead of becoming a silent 409.
"""

import importlib
import pkgutil
from collections.abc import Iterator

import pytest

from domain.errors import DomainError
from infra import http_errors
from infra.medusa import errors as medusa_errors


def _import_everything() -> None:
    for name in ("domain", "commands", "queries", "infra"):
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


_import_everything()
ERRORS = sorted(set(_subclasses(DomainError)), key=lambda c: f"{c.__module__}.{c.__name__}")


def _row(table: tuple[tuple[type[Exception], object], ...], cls: type) -> type | None:
    return next((kind for kind, _ in table if issubclass(cls, kind)), None)


def test_the_walk_finds_the_errors() -> None:
    assert len(ERRORS) > 50


@pytest.mark.parametrize("error", ERRORS, ids=lambda c: c.__name__)
def test_every_error_has_a_native_status(error: type[DomainError]) -> None:
    row = _row(http_errors.STATUS_BY_ERROR, error)
    assert row is not None and row is not DomainError, f"{error.__name__} has no HTTP status"
    assert http_errors.status_for(error.__new__(error)) < 500 or issubclass(
        error, http_errors.app_errors.PaymentProviderUnavailable
    )


@pytest.mark.parametrize("error", ERRORS, ids=lambda c: c.__name__)
def test_every_error_has_a_medusa_type(error: type[DomainError]) -> None:
    row = _row(medusa_errors.TYPE_BY_ERROR, error)
    assert row is not None and row is not DomainError, f"{error.__name__} has no Medusa type"
    assert medusa_errors.type_for(error.__new__(error)) != "unknown_error"


def test_an_error_without_a_row_is_not_a_conflict() -> None:
    class Unnamed(DomainError):
        pass

    assert http_errors.status_for(Unnamed("x")) == 500
    assert medusa_errors.type_for(Unnamed("x")) == "unknown_error"
