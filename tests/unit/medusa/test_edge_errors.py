"""The edge's refusals told in Medusa's words under its prefix, and nothing else touched.

Given an edge middleware that refuses in the native ``{error, detail}`` (a 429 of the
rate limit), When the request is under the Medusa prefix, Then the client reads
``{type, message}`` with the same status and headers; elsewhere, and for answers that
are not native errors, the bytes are passed through as they were.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from infra.medusa.edge_errors import MedusaEdgeErrors
from infra.web.asgi import Message, Receive, Scope, Send, send_error, send_json


async def refuse(scope: Scope, receive: Receive, send: Send) -> None:
    await send_error(send, 429, "TooManyRequests", "Slow down.", [(b"retry-after", b"7")])


async def answer_ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(send, 200, {"error": "not one", "detail": "a 200 is never rewritten"})


async def medusa_own(scope: Scope, receive: Receive, send: Send) -> None:
    await send_json(send, 404, {"type": "not_found", "message": "Cart was not found"})


def call(app: Any, path: str) -> tuple[int, dict[str, str], Any]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "path": path, "method": "POST", "headers": []}
    asyncio.run(MedusaEdgeErrors(app, lambda: "/medusa")(scope, receive, send))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert int(headers["content-length"]) == len(body)
    return start["status"], headers, json.loads(body)


def test_a_refusal_under_the_prefix_reads_as_medusa_writes_it() -> None:
    status, headers, body = call(refuse, "/medusa/store/carts")
    assert (status, body) == (429, {"type": "not_allowed", "message": "Slow down."})
    assert headers["retry-after"] == "7"


def test_elsewhere_and_for_other_answers_nothing_changes() -> None:
    assert call(refuse, "/store/carts")[2] == {"error": "TooManyRequests", "detail": "Slow down."}
    assert call(refuse, "/medusafied/x")[2]["error"] == "TooManyRequests"
    assert call(answer_ok, "/medusa/store/carts")[2]["error"] == "not one"
    assert call(medusa_own, "/medusa/store/carts/x")[2] == {
        "type": "not_found",
        "message": "Cart was not found",
    }
