"""Request limits: body size, and per-client rates on the public write endpoints."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import redis
import redis.asyncio

from infra.web.asgi import (
    ASGIApp,
    Disconnected,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    replay_body,
    send_error,
)
from infra.web.client_identity import CALLER, Identities

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
    """413 for a body over the limit, counted as it streams (Content-Length may lie or lack).

    The body is read whole before the app sees any of it, so an oversized body is always
    a 413 (chunked or not, with an Idempotency-Key or not), never a truncated request
    handed on. Every body the API takes is small; /admin/catalog's larger limit is only
    reached after the admin key was checked (see AdminGate).
    """

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
        try:
            body = await read_body(receive, limit)
        except Disconnected:
            return
        if body is None:
            await send_error(send, 413, "PayloadTooLarge", f"The body is over {limit} bytes.")
            return
        await self.app(scope, replay_body(body), send)


class RateStore(Protocol):
    """Per-window hit counts, shared by every API process (Redis) or kept in this one.

    Asked on the event loop before every limited write: its methods are coroutines, so a
    round trip to Redis never blocks the loop (nor the requests it is serving).
    """

    async def hit(self, key: str, window: int) -> int:
        """Count one hit in the current window; returns the count so far."""
        ...

    async def count(self, key: str, window: int) -> int:
        """The hits so far in the current window, counting none."""
        ...

    async def hit_all(self, keys: list[str], window: int) -> list[int]:
        """``hit`` for each key at once (one round trip); the counts in order."""
        ...


# Every key's INCR, and its expiry on the window's first hit, in one command: atomic, and
# one round trip whose request and answer are one command's (a pipeline of INCR + EXPIRE
# per key was a third of the limiter's time in packing and parsing four replies).
_HIT_ALL = """
local counts = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  counts[i] = count
end
return counts
"""


class RedisRates:
    """Counts in Redis, exact across every API process; asked through an asyncio client."""

    def __init__(self, client: "redis.asyncio.Redis") -> None:
        self._client = client
        self._hit_all = client.register_script(_HIT_ALL)

    @classmethod
    def at(cls, url: str) -> "RedisRates":
        """Counts in the Redis at ``url`` (REDIS_URL: the one the locks use)."""
        return cls(redis.asyncio.Redis.from_url(url))

    async def close(self) -> None:
        await self._client.aclose()

    async def hit(self, key: str, window: int) -> int:
        return (await self.hit_all([key], window))[0]

    async def hit_all(self, keys: list[str], window: int) -> list[int]:
        slot = int(time.time()) // window
        buckets = [f"rate:{key}:{slot}" for key in keys]
        replies = await self._hit_all(keys=buckets, args=[window * 2])
        return [int(count) for count in replies]

    async def count(self, key: str, window: int) -> int:
        value = await self._client.get(f"rate:{key}:{int(time.time()) // window}")
        return int(value) if value is not None else 0


class MemoryRates:
    """Per-process counting, for when Redis is not configured."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def _hit(self, key: str, window: int) -> int:
        # Only ever called on the event loop, between awaits: no lock is needed.
        bucket = f"{key}:{int(time.time()) // window}"
        if len(self._counts) > 100_000:
            self._counts.clear()
        self._counts[bucket] = self._counts.get(bucket, 0) + 1
        return self._counts[bucket]

    async def hit(self, key: str, window: int) -> int:
        return self._hit(key, window)

    async def close(self) -> None:
        pass

    async def count(self, key: str, window: int) -> int:
        return self._counts.get(f"{key}:{int(time.time()) // window}", 0)

    async def hit_all(self, keys: list[str], window: int) -> list[int]:
        return [self._hit(key, window) for key in keys]


def rate_store(redis_url: str | None) -> "RedisRates | MemoryRates":
    """Redis's counts when REDIS_URL is set (exact across processes), else this process's.

    One per event loop: an app makes its own in its lifespan and closes it there."""
    return RedisRates.at(redis_url) if redis_url else MemoryRates()


@dataclass(frozen=True)
class Limited:
    """A public write: its per-client allowance, and whether the cart/order it names counts."""

    method: str
    pattern: re.Pattern[str]
    allowance: str  # the name of its per-client allowance per minute
    per_resource: bool = False  # also count the cart or order (the pattern's "resource")


_CART = r"^/store/carts/(?P<resource>[^/]+)"
LIMITED: tuple[Limited, ...] = (
    Limited("POST", re.compile(r"^/store/carts/?$"), "carts"),
    Limited("POST", re.compile(_CART + r"/(payment-session|complete)/?$"), "checkout", True),
    Limited("POST", re.compile(_CART + r"/.+$"), "writes", True),
    Limited("POST", re.compile(r"^/store/orders/(?P<resource>[^/]+)/.+$"), "writes", True),
    Limited("POST", re.compile(r"^/store/products/[^/]+/reviews/?$"), "reviews"),
    # The Medusa-shaped surface (its prefix stripped first): a cart's own update, line
    # deletions, and the payment collection's sessions, which reach Stripe.
    Limited("POST", re.compile(_CART + r"/?$"), "writes", True),
    Limited("DELETE", re.compile(_CART + r"/.+$"), "writes", True),
    Limited("POST", re.compile(r"^/store/payment-collections/?$"), "checkout"),
    Limited(
        "POST",
        re.compile(r"^/store/payment-collections/(?P<resource>[^/]+)/payment-sessions/?$"),
        "checkout",
        True,
    ),
)
# Any other write under /store is still counted per client (a new route is never unlimited).
_ANY_STORE_WRITE = Limited("*", re.compile(r"^/store/"), "writes")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WINDOW = 60


def limited(
    method: str, path: str, surfaces: tuple[str, ...] = ()
) -> tuple[Limited, str | None] | None:
    """The limit a request falls under, and the cart or order it names. ``surfaces``
    are the prefixes other storefront surfaces are mounted under (``/medusa``): their
    ``/store`` writes count as the native ones do."""
    if method not in _WRITES:
        return None
    for prefix in surfaces:
        if path.startswith(prefix + "/"):
            path = path[len(prefix) :]
            break
    for rule in LIMITED:
        if method == rule.method and (match := rule.pattern.match(path)):
            return rule, resource_key(match["resource"]) if rule.per_resource else None
    return (_ANY_STORE_WRITE, None) if _ANY_STORE_WRITE.pattern.match(path) else None


def resource_key(text: str) -> str:
    """One spelling per cart or order: ``8D9F…`` and ``8d9f…`` are the same cart."""
    try:
        return str(UUID(text))
    except ValueError:
        return text.lower()


class RateLimit:
    """429 with Retry-After when a client, or anyone on one cart or order, writes too often.

    ``allowances`` holds per-minute counts by name: the per-client ones of LIMITED,
    ``per_resource`` (every write naming one cart or order) and ``storefront_factor``.
    The caller comes from ``Identities``: the client's address, or a storefront's
    credential (which scales the per-client allowances, never the per-cart one).
    """

    def __init__(
        self,
        app: ASGIApp,
        store: Callable[[], RateStore],
        allowances: Callable[[], dict[str, int]],
        identities: Callable[[], Identities],
        surfaces: Callable[[], tuple[str, ...]] = tuple,
    ) -> None:
        self.app = app
        self._store = store
        self._allowances = allowances
        self._identities = identities
        self._surfaces = surfaces

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = (
            limited(scope.get("method", ""), scope.get("path", ""), self._surfaces())
            if scope["type"] == "http"
            else None
        )
        if found is None:
            await self.app(scope, receive, send)
            return
        rule, resource = found
        allowances = self._allowances()
        caller = await self._identities().of(scope)
        scope[CALLER] = caller
        factor = allowances["storefront_factor"] if caller.kind == "storefront" else 1
        counts = [(f"{rule.allowance}:{caller.key}", allowances[rule.allowance] * factor)]
        if resource is not None:
            counts.append((f"resource:{resource}", allowances["per_resource"]))
        try:
            hits = await self._store().hit_all([key for key, _ in counts], WINDOW)
        except redis.RedisError:
            hits = [0] * len(counts)  # a limiter that is down must not take the shop down
        for (_, allowed), count in zip(counts, hits, strict=True):
            if count > allowed:
                await too_many(send, allowed)
                return
        await self.app(scope, receive, send)


async def too_many(send: Send, allowed: int, window: int = WINDOW) -> None:
    retry = window - int(time.time()) % window
    await send_error(
        send,
        429,
        "TooManyRequests",
        f"At most {allowed} requests per {window} s; try again in {retry} s.",
        [(b"retry-after", str(retry).encode())],
    )
