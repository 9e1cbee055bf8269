"""``/admin``: the admin key is checked before any body is read, and failures are slowed.

Every request under /admin (but CORS preflights) must carry ``Authorization: Bearer
<admin key>``; a missing or wrong key is a 401 before the body is read, so an
unauthenticated 16 MiB catalog upload costs nothing. A client that fails
``ADMIN_AUTH_FAILURES_PER_MINUTE`` times is refused every admin request (429, even
with a good key) until the minute is over, and each failure is counted in
``orderledger_admin_auth_failures_total``. The key's id is left in
``scope["state"]["admin_key_id"]`` for the idempotency scope.
"""

import contextlib
from collections.abc import Callable
from typing import Protocol

import redis
from fastapi.concurrency import run_in_threadpool

from infra.http_errors import UNAVAILABLE
from infra.web.asgi import ASGIApp, Receive, Scope, Send, header, send_error
from infra.web.limits import WINDOW, RateStore, too_many

ADMIN_KEY_ID = "admin_key_id"


class KeyVerifier(Protocol):
    def verify(self, presented: str) -> str | None: ...


class FailureCounter(Protocol):
    def inc(self) -> None: ...


def is_admin_path(path: str) -> bool:
    return path == "/admin" or path.startswith("/admin/")


class AdminGate:
    def __init__(
        self,
        app: ASGIApp,
        keys: Callable[[], KeyVerifier],
        rates: Callable[[], RateStore],
        allowed_failures: Callable[[], int],
        failures: Callable[[], FailureCounter | None],
    ) -> None:
        self.app = app
        self._keys = keys
        self._rates = rates
        self._allowed_failures = allowed_failures
        self._failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not is_admin_path(scope.get("path", ""))
            or scope.get("method") == "OPTIONS"
        ):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        throttle = f"admin-auth-failures:{client}"
        allowed = self._allowed_failures()
        try:
            throttled = await self._rates().count(throttle, WINDOW) >= allowed
        except redis.RedisError:
            throttled = False
        if throttled:
            await too_many(send, allowed)
            return
        scheme, _, presented = (header(scope, "authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            await self._refuse(
                send, throttle, "An admin key is required: Authorization: Bearer <key>."
            )
            return
        try:
            key_id = await run_in_threadpool(self._keys().verify, presented.strip())
        except UNAVAILABLE:
            await send_error(
                send,
                503,
                "ServiceUnavailable",
                "A backing store is unavailable; try again shortly.",
            )
            return
        if key_id is None:
            await self._refuse(send, throttle, "The admin key is not valid.")
            return
        scope.setdefault("state", {})[ADMIN_KEY_ID] = key_id
        await self.app(scope, receive, send)

    async def _refuse(self, send: Send, throttle: str, detail: str) -> None:
        with contextlib.suppress(redis.RedisError):
            await self._rates().hit(throttle, WINDOW)
        counter = self._failures()
        if counter is not None:
            counter.inc()
        await send_error(send, 401, "NotAuthenticated", detail)
