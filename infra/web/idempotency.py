"""``Idempotency-Key`` on every mutating endpoint, kept in Postgres for 24 hours.

Same key and same request: the first answer is replayed and nothing is done again.
Same key, different request: 422. Same key while the first is still running: 409.
An answer of 5xx is not kept, so the client may retry with the same key.

A key lives in the scope of the caller's credential, checked before anything is
replayed: the admin key's id (verified by AdminGate; a revoked key gets 401, never a
replay), the order (its X-Order-Token verified first), the cart named in the path, or,
for writes that name nothing yet (a new cart, a review), the product and the caller
(its address or storefront credential). Never the raw header text.

Stored answers hold access tokens and client secrets, so they are kept encrypted
(AES-GCM) under a key derived from the Idempotency-Key itself, which is stored only
as a hash: the table alone cannot be read back. Rows older than 24 h are purged as
new keys are claimed (a bounded delete on the creation-time index).
"""

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi.concurrency import run_in_threadpool
from psycopg.types.json import Jsonb

from infra.deadline import request_deadline
from infra.http_errors import UNAVAILABLE
from infra.pg import Pool
from infra.schema import SCHEMA
from infra.web.admin_gate import ADMIN_KEY_ID, is_admin_path
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
from infra.web.client_identity import CALLER, Caller
from infra.web.limits import resource_key

log = logging.getLogger(__name__)

KEEP = timedelta(hours=24)
RUNNING_TIMEOUT = timedelta(seconds=120)  # a request that died mid-way frees its key
MAX_KEY_LENGTH = 255
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

REPLAYED_HEADERS = {b"content-type", b"x-ledger-position", b"etag", b"location"}
PURGE_BATCH = 100  # old rows deleted per claim: bounded work on the write path
RECORD_SECONDS = 2.0  # an answer's record waits this long for a connection at most

# The resource a store path names: its scope when the caller holds nothing else.
_CART_PATH = re.compile(r"^/store/carts/(?P<id>[^/]+)(/|$)")
_ORDER_PATH = re.compile(r"^/store/orders/(?P<id>[^/]+)(/|$)")

# Whether an X-Order-Token opens an order (the order id, the token); raises if not.
OrderAuthorizer = Callable[[UUID, str | None], None]


@dataclass
class _Captured:
    status: int = 500
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class Idempotency:
    def __init__(
        self, app: ASGIApp, pool: Callable[[], Pool], authorize_order: Callable[[], OrderAuthorizer]
    ) -> None:
        self.app = app
        self._pool = pool
        self._authorize_order = authorize_order

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
        key_scope = await self._scope_of(scope)
        if key_scope is None:
            # No credential opens what the request names: the app refuses it (401/404),
            # and nothing is claimed or replayed.
            await self.app(scope, replay_body(body), send)
            return
        fingerprint = hashlib.sha256(
            scope["method"].encode() + b" " + scope.get("path", "").encode() + b"\n" + body
        ).hexdigest()
        sealed = _Seal(key_scope, key)

        verdict = await run_in_threadpool(self._claim, key_scope, sealed.key_hash, fingerprint)
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
            status, stored = verdict
            opened = sealed.open(stored)
            if opened is None:
                await send_error(
                    send,
                    422,
                    "IdempotencyKeyReused",
                    "This Idempotency-Key was used with another request.",
                )
                return
            headers, answer = opened
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(k.encode(), v.encode()) for k, v in headers]
                    + [(b"idempotent-replayed", b"true")],
                }
            )
            await send({"type": "http.response.body", "body": answer})
            return

        response = _Captured()
        recorded = False

        async def capture(message: Message) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start":
                response.status = int(message["status"])
                response.headers = [
                    (k.decode(), v.decode())
                    for k, v in message.get("headers", [])
                    if k.lower() in REPLAYED_HEADERS
                ]
            elif message["type"] == "http.response.body":
                response.body += message.get("body", b"")
                if not message.get("more_body", False):
                    # Recorded before the last byte goes out: a client that saw the
                    # answer and asks again gets it replayed, never "still running".
                    recorded = True
                    try:
                        await run_in_threadpool(self._finish, key_scope, sealed, response)
                    except UNAVAILABLE as error:
                        # The answer still goes out; the key frees itself after
                        # RUNNING_TIMEOUT, as when a request dies mid-way.
                        log.warning("idempotency answer not recorded: %s", error)
            await send(message)

        try:
            await self.app(scope, replay_body(body), capture)
        finally:
            if not recorded:
                await run_in_threadpool(self._finish, key_scope, sealed, response)

    async def _scope_of(self, scope: Scope) -> str | None:
        """The caller's credential as a scope, or None when it does not hold one."""
        path: str = scope.get("path", "")
        if is_admin_path(path):
            key_id = scope.get("state", {}).get(ADMIN_KEY_ID)
            return f"admin:{key_id}" if key_id else None
        if match := _ORDER_PATH.match(path):
            try:
                order_id = UUID(match["id"])
                await run_in_threadpool(
                    self._authorize_order(), order_id, header(scope, "x-order-token")
                )
            except Exception:
                return None
            return f"order:{order_id}"
        if match := _CART_PATH.match(path):
            return f"cart:{resource_key(match['id'])}"
        # A storefront's credential, else the client's own address (not the limiter's /64).
        caller = scope.get(CALLER)
        if not isinstance(caller, Caller) or caller.kind != "storefront":
            caller = Caller(f"ip:{(scope.get('client') or ('unknown', 0))[0]}")
        return f"{caller.key}:{scope.get('method')} {path}"

    def _claim(self, key_scope: str, key_hash: str, fingerprint: str) -> object:
        with self._pool().connection() as conn, conn.transaction():
            conn.execute(
                f"DELETE FROM {SCHEMA}.idempotency_keys WHERE scope = %s AND key = %s AND "
                "(created_at < now() - %s OR (status = 'running' AND created_at < now() - %s))",
                (key_scope, key_hash, KEEP, RUNNING_TIMEOUT),
            )
            inserted = conn.execute(
                f"INSERT INTO {SCHEMA}.idempotency_keys (scope, key, fingerprint, status) "
                "VALUES (%s, %s, %s, 'running') ON CONFLICT DO NOTHING",
                (key_scope, key_hash, fingerprint),
            ).rowcount
            if inserted:
                purge_expired(conn)
                return "new"
            row = conn.execute(
                f"SELECT fingerprint, status, response_status, response_body "
                f"FROM {SCHEMA}.idempotency_keys WHERE scope = %s AND key = %s",
                (key_scope, key_hash),
            ).fetchone()
        if row is None:
            return "running"
        if row[0] != fingerprint:
            return "mismatch"
        if row[1] == "running":
            return "running"
        return (int(row[2]), bytes(row[3]))

    def _finish(self, key_scope: str, sealed: "_Seal", response: "_Captured") -> None:
        status = response.status
        # Its own short wait for a connection, whatever the request's work left of its
        # deadline: a record cut short leaves the key "still running" for two minutes.
        with request_deadline(RECORD_SECONDS), self._pool().connection() as conn:
            if status >= 500:
                conn.execute(
                    f"DELETE FROM {SCHEMA}.idempotency_keys WHERE scope = %s AND key = %s",
                    (key_scope, sealed.key_hash),
                )
                return
            # The headers are kept inside the sealed body; the column holds none.
            conn.execute(
                f"UPDATE {SCHEMA}.idempotency_keys SET status = 'done', response_status = %s, "
                "response_headers = %s, response_body = %s WHERE scope = %s AND key = %s",
                (
                    status,
                    Jsonb([]),
                    sealed.close(response.headers, response.body),
                    key_scope,
                    sealed.key_hash,
                ),
            )


def purge_expired(conn: Any) -> int:
    """Delete up to PURGE_BATCH answers older than 24 h; how many went."""
    cur = conn.execute(
        f"DELETE FROM {SCHEMA}.idempotency_keys WHERE ctid IN (SELECT ctid FROM "
        f"{SCHEMA}.idempotency_keys WHERE created_at < now() - %s LIMIT %s)",
        (KEEP, PURGE_BATCH),
    )
    return int(cur.rowcount)


class _Seal:
    """The stored form of one key's answer: the key as a hash, the answer encrypted."""

    def __init__(self, key_scope: str, key: str) -> None:
        material = f"{key_scope}\0{key}".encode()
        self.key_hash = hashlib.sha256(b"idempotency-key\0" + material).hexdigest()
        self._aead = AESGCM(hashlib.sha256(b"idempotency-answer\0" + material).digest())

    def close(self, headers: list[tuple[str, str]], body: bytes) -> bytes:
        nonce = os.urandom(12)
        plain = json.dumps({"headers": headers}).encode() + b"\n" + body
        return nonce + self._aead.encrypt(nonce, plain, None)

    def open(self, stored: bytes) -> tuple[list[tuple[str, str]], bytes] | None:
        try:
            plain = self._aead.decrypt(stored[:12], stored[12:], None)
        except (InvalidTag, ValueError):
            return None  # written before answers were sealed, or not by this key
        meta, _, body = plain.partition(b"\n")
        headers = [(str(k), str(v)) for k, v in json.loads(meta)["headers"]]
        return headers, body
