"""Each HTTP request's deadline for database waits (``infra.deadline``), set as it enters."""

from infra.deadline import REQUEST_DATABASE_SECONDS, request_deadline
from infra.web.asgi import ASGIApp, Receive, Scope, Send


class RequestDeadline:
    def __init__(self, app: ASGIApp, seconds: float = REQUEST_DATABASE_SECONDS) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with request_deadline(self.seconds):
            await self.app(scope, receive, send)
