"""CORS per surface: ``STORE_CORS`` for /store, ``ADMIN_CORS`` for /admin, ``AUTH_CORS`` for /auth.

A disallowed origin gets no CORS headers (the browser then refuses the answer).
"""

from collections.abc import Callable

from starlette.middleware.cors import CORSMiddleware

from infra.web.asgi import ASGIApp, Receive, Scope, Send

Surfaces = Callable[[], dict[str, list[str]]]


class CorsPerSurface:
    def __init__(self, app: ASGIApp, surfaces: Surfaces) -> None:
        self.app = app
        self._surfaces = surfaces
        self._by_prefix: dict[str, ASGIApp] | None = None

    def _middlewares(self) -> dict[str, ASGIApp]:
        if self._by_prefix is None:
            self._by_prefix = {
                prefix: CORSMiddleware(
                    self.app,
                    allow_origins=origins,
                    allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                    allow_headers=[
                        "Authorization",
                        "Content-Type",
                        "Idempotency-Key",
                        "If-Match",
                        "X-Order-Token",
                        "X-Request-ID",
                    ],
                    expose_headers=["X-Ledger-Position", "X-Request-ID", "ETag", "Retry-After"],
                    max_age=600,
                )
                for prefix, origins in self._surfaces().items()
            }
        return self._by_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope.get("path", "")
            for prefix, middleware in self._middlewares().items():
                if path == prefix or path.startswith(prefix + "/"):
                    await middleware(scope, receive, send)
                    return
        await self.app(scope, receive, send)
