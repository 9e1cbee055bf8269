"""Request limits: body size, and per-client rates on the public write endpoints."""

import re
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from infra.web.asgi import ASGIApp, Message, Receive, Scope, Send, header, send_error

MAX_BODY_BYTES = 1 << 20  # 1 MiB: every body the API takes is far smaller
MAX_CATALOG_BYTES = 16 << 20  # a whole catalog may be larger
# Uploads: up to FILES_MAX_UPLOAD_BYTES per file, checked again per file by the upload.
LARGER_BODIES = {
    "/admin/catalog": MAX_CATALOG_BYTES,
    "/admin/uploads": 128 << 20,
    "/files": 32 << 20,
}
_BODILESS = frozenset({"GET", "HEAD"})


class BodySizeLimit:
    """413 for a body over the limit, counted as it streams (Content-Length may lie or lack)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
            # PostgreSQL text cannot hold NUL; nothing the API takes has one.
            await send_error(send, 400, "InvalidCharacters", "The request holds a NUL character.")
            return
        if scope.get("method") in _BODILESS:
            # No GET endpoint reads a body, so none is counted (nor its sends watched).
            await self.app(scope, receive, send)
            return
        limit = LARGER_BODIES.get(scope.get("path", ""), MAX_BODY_BYTES)
        declared = header(scope, "content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_error(send, 413, "PayloadTooLarge", f"The body is over {limit} bytes.")
            return
        seen = 0
        too_large = False

        async def counted() -> Message:
            nonlocal seen, too_large
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                too_large = True
                return {"type": "http.disconnect"}
            return message

        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted, watch)
        if too_large and not started:
            await send_error(send, 413, "PayloadTooLarge", f"The body is over {limit} bytes.")


class RateStore(Protocol):
    def hit(self, key: str, window: int) -> int:
        """Count one hit in the current window; returns the count so far."""
        ...


class RedisRates:
    def __init__(self, client: "redis.Redis") -> None:
        self._client = client

    def hit(self, key: str, window: int) -> int:
        bucket = f"rate:{key}:{int(time.time()) // window}"
        pipe = self._client.pipeline()
        pipe.incr(bucket)
        pipe.expire(bucket, window * 2)
        count, _ = pipe.execute()
        return int(count)


class MemoryRates:
    """Per-process counting, for when Redis is not configured."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int) -> int:
        bucket = f"{key}:{int(time.time()) // window}"
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts.clear()
            self._counts[bucket] = self._counts.get(bucket, 0) + 1
            return self._counts[bucket]


# (method, path pattern, name of its per-minute allowance)
LIMITED: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/store/carts$"), "carts"),
    ("POST", re.compile(r"^/store/products/[^/]+/reviews$"), "reviews"),
)
WINDOW = 60


class RateLimit:
    """429 with Retry-After when one client writes too often to a public endpoint."""

    def __init__(
        self, app: ASGIApp, store: Callable[[], RateStore], allowances: Callable[[], dict[str, int]]
    ) -> None:
        self.app = app
        self._store = store
        self._allowances = allowances

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for method, pattern, name in LIMITED:
                if scope.get("method") == method and pattern.match(scope.get("path", "")):
                    allowed, window = self._allowances()[name], WINDOW
                    client = (scope.get("client") or ("unknown", 0))[0]
                    key = f"{pattern.pattern}:{client}"
                    try:
                        count = self._store().hit(key, window)
                    except redis.RedisError:
                        count = 0  # a limiter that is down must not take the shop down
                    if count > allowed:
                        retry = window - int(time.time()) % window
                        await send_error(
                            send,
                            429,
                            "TooManyRequests",
                            f"At most {allowed} requests per {window} s; try again in {retry} s.",
                            [(b"retry-after", str(retry).encode())],
                        )
                        return
                    break
        await self.app(scope, receive, send)
