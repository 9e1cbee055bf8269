"""Medusa's ``{type, message}`` for what the edge refuses before the surface sees it.

The rate limit (429), the body limit (413, and 400 for a NUL character) and the
idempotency store (409, 422) run in front of every route and answer in the native
``{error, detail}``. Under the Medusa prefix a storefront's SDK reads ``message``, so
those answers are told again in Medusa's words there; every other answer is untouched
(the surface's own errors are Medusa's already, successes are never held).
"""

import json
from collections.abc import Callable
from typing import Any

from infra.web.asgi import ASGIApp, Message, Receive, Scope, Send

# The status an edge answered with, as Medusa would name its error.
TYPE_BY_STATUS = {
    400: "invalid_data",
    401: "unauthorized",
    404: "not_found",
    409: "conflict",
    413: "invalid_data",
    415: "invalid_data",
    422: "invalid_data",
    429: "not_allowed",
}
NATIVE_KEYS = frozenset({"error", "detail"})


def medusa_words(status: int, body: bytes) -> bytes | None:
    """The native error ``body`` in Medusa's shape, or None if it is not a native error."""
    try:
        native = json.loads(body)
    except ValueError:
        return None
    if not isinstance(native, dict) or set(native) != NATIVE_KEYS:
        return None
    type_ = TYPE_BY_STATUS.get(status, "unknown_error")
    return json.dumps({"type": type_, "message": native["detail"]}).encode()


class MedusaEdgeErrors:
    def __init__(self, app: ASGIApp, prefix: Callable[[], str]) -> None:
        self.app = app
        self._prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _under(scope.get("path", ""), self._prefix()):
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def tell(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] >= 400 and _is_json(message):
                    held["start"] = message
                    return
                await send(message)
                return
            if "start" not in held or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            start, body = held.pop("start"), b"".join(chunks)
            told = medusa_words(start["status"], body)
            if told is not None:
                body = told
                start = {**start, "headers": _with_length(start["headers"], len(body))}
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, tell)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def _is_json(start: Message) -> bool:
    return any(
        name.lower() == b"content-type" and value.startswith(b"application/json")
        for name, value in start.get("headers", [])
    )


def _with_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]
