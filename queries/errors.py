"""Errors of the read side (rendered by the one error handler at the edge)."""


class ReadError(Exception):
    """A read that cannot be answered as asked; ``status`` is its HTTP status, and
    ``retry_after`` (seconds), when set, says when asking again may succeed."""

    name = "ReadError"
    status = 400
    retry_after: int | None = None


class NotFoundError(ReadError):
    """The thing asked for is not in the view."""

    name = "NotFound"
    status = 404


class PositionBeyondHead(ReadError):
    """``?min_position`` names a notification the log does not have yet."""

    name = "PositionBeyondHead"
    status = 400


class ViewBehind(ReadError):
    """The ledger holds the thing asked for but its view has not caught up in time."""

    name = "ViewBehind"
    status = 503
    retry_after = 1


class TooManyWaiting(ReadError):
    """So many reads already wait for their views that this one is refused at once."""

    name = "TooManyWaiting"
    status = 503
    retry_after = 1
