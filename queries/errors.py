"""Errors of the read side (rendered by the one error handler at the edge)."""


class NotFoundError(Exception):
    """The thing asked for is not in the view."""

    name = "NotFound"
