"""``Idempotency-Key`` on every mutating endpoint, kept in Postgres for 24 hours.

Same key and same request: the first answer is replayed and nothing is done again.
Same key, different request: 422. Same key while the first is still running: 409.
An answer of 5xx is not kept, so the client may retry with the same key.
"""

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from psycopg.types.json import Jsonb

from infra.pg import Pool
from infra.schema import SCHEMA
from infra.web.asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    header,
    read_body,
    replay_body,
    send_error,
)

KEEP = timedelta(hours=24)
RUNNING_TIMEOUT = timedelta(seconds=120)  # a request that died mid-way frees its key
MAX_KEY_LENGTH = 255
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

REPLAYED_HEADERS = {b"content-type", b"x-ledger-position", b"etag", b"location"}


@dataclass
class _Captured:
    status: int = 500
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class Idempotency:
    def __init__(self, app: ASGIApp, pool: Callable[[], Pool]) -> None:
        self.app = app
        self._pool = pool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, "idempotency-key") if scope["type"] == "http" else None
        if key is None or scope.get("method") not in MUTATING:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await send_error(
                send, 400, "InvalidIdempotencyKey", "Idempotency-Key has 1 to 255 characters."
            )
            return
        body = await read_body(receive, 16 << 20)
        if body is None:
            await send_error(send, 413, "PayloadTooLarge", "The body is too large.")
            return
        # Keys are per caller: an admin key, an order token, or the public.
        who = header(scope, "authorization") or header(scope, "x-order-token") or "public"
        key_scope = hashlib.sha256(f"{who}".encode()).hexdigest()[:32]
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b" " + scope.get("path", "").encode() + b"\n" + body
        ).hexdigest()
        from fastapi.concurrency import run_in_threadpool

        verdict = await run_in_threadpool(self._claim, key_scope, key, fingerprint)
        if verdict == "mismatch":
            await send_error(
                send,
                422,
                "IdempotencyKeyReused",
                "This Idempotency-Key was used with another request.",
            )
            return
        if verdict == "running":
            await send_error(
                send,
                409,
                "IdempotencyKeyInProgress",
                "A request with this Idempotency-Key is still running.",
            )
            return
        if isinstance(verdict, tuple):
            status, headers, stored = verdict
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers]
                    + [(b"idempotent-replayed", b"true")],
                }
            )
            await send({"type": "http.response.body", "body": stored})
            return

        response = _Captured()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                response.status = int(message["status"])
                response.headers = [
                    (k.decode(), v.decode())
                    for k, v in message.get("headers", [])
                    if k.lower() in REPLAYED_HEADERS
                ]
            elif message["type"] == "http.response.body":
                response.body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_body(body), capture)
        finally:
            await run_in_threadpool(self._finish, key_scope, key, response)

    def _claim(self, key_scope: str, key: str, fingerprint: str) -> object:
        with self._pool().connection() as conn, conn.transaction():
            conn.execute(
                f"DELETE FROM {SCHEMA}.idempotency_keys WHERE scope = %s AND key = %s AND "
                "(created_at < now() - %s OR (status = 'running' AND created_at < now() - %s))",
                (key_scope, key, KEEP, RUNNING_TIMEOUT),
            )
            inserted = conn.execute(
                f"INSERT INTO {SCHEMA}.idempotency_keys (scope, key, fingerprint, status) "
                "VALUES (%s, %s, %s, 'running') ON CONFLICT DO NOTHING",
                (key_scope, key, fingerprint),
            ).rowcount
            if inserted:
                return "new"
            row = conn.execute(
                f"SELECT fingerprint, status, response_status, response_headers, response_body "
                f"FROM {SCHEMA}.idempotency_keys WHERE scope = %s AND key = %s",
                (key_scope, key),
            ).fetchone()
        if row is None:
            return "running"
        if row[0] != fingerprint:
            return "mismatch"
        if row[1] == "running":
            return "running"
        return (int(row[2]), [tuple(h) for h in row[3]], bytes(row[4]))

    def _finish(self, key_scope: str, key: str, response: "_Captured") -> None:
        status = response.status
        with self._pool().connection() as conn:
            if status >= 500:
                conn.execute(
                    f"DELETE FROM {SCHEMA}.idempotency_keys WHERE scope = %s AND key = %s",
                    (key_scope, key),
                )
                return
            conn.execute(
                f"UPDATE {SCHEMA}.idempotency_keys SET status = 'done', response_status = %s, "
                "response_headers = %s, response_body = %s WHERE scope = %s AND key = %s",
                (status, Jsonb(response.headers), response.body, key_scope, key),
            )
