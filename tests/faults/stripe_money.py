"""What the faithful stand-in adds for reconciliation: Stripe's lists, refunds, disputes.

localstripe has no disputes, cannot filter lists by ``created``, reports a partial
capture as a capture of everything plus a refund of the rest, and lacks
``amount_capturable`` / ``amount_received`` / ``amount_captured`` /
``amount_refunded`` / ``disputed``. This part of the stand-in keeps what it needs
(every PaymentIntent, refund and dispute made through it), answers
``GET /v1/payment_intents``, ``/v1/refunds``, ``/v1/disputes`` (and one dispute) in
Stripe's wire format with ``created[gte]``, ``starting_after`` and ``limit``, completes
each PaymentIntent it serves with those fields, and lets a test act "at Stripe": refund,
open and close a dispute, let a hold lapse, forge a capture (a drift), and send the
signed webhook Stripe would.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import stripe

Json = dict[str, Any]
Upstream = Callable[[str, str, bytes], httpx.Response]  # (method, path, body)


def stripe_error(status: int, message: str, code: str = "") -> tuple[int, bytes]:
    kind = "rate_limit_error" if status == 429 else "invalid_request_error"
    body = {"error": {"type": kind, "code": code, "message": message, "param": ""}}
    return status, json.dumps(body).encode()


@dataclass
class StripeMoney:
    """The stand-in's own records; ``upstream`` reaches localstripe."""

    upstream: Upstream
    intents: dict[str, int] = field(default_factory=dict)  # id -> created
    captured: dict[str, int] = field(default_factory=dict)
    forged_captures: dict[str, int] = field(default_factory=dict)
    canceled_reason: dict[str, str] = field(default_factory=dict)
    refunds: dict[str, Json] = field(default_factory=dict)
    disputes: dict[str, Json] = field(default_factory=dict)
    hidden_refunds: set[str] = field(default_factory=set)
    # Every n-th list request is answered 429 (0: never), and how many were.
    rate_limit_every: int = 0
    list_requests: int = 0
    rate_limited: int = 0
    # The PaymentIntents as localstripe showed them when a list's first page was asked
    # for; later pages of that list come from it (one upstream read per list, not per item).
    snapshot: dict[str, Json] = field(default_factory=dict)
    webhook_url: str | None = None
    webhook_secret: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- requests the stand-in answers itself -------------------------------------------------

    def answer(self, method: str, path: str, query: str, body: bytes) -> tuple[int, bytes] | None:
        """An answer, or None to forward the request to localstripe unchanged."""
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        if method == "GET" and path in ("/v1/payment_intents", "/v1/refunds", "/v1/disputes"):
            return self._list(path, params)
        if method == "GET" and path.startswith("/v1/disputes/"):
            dispute = self.disputes.get(path.rsplit("/", 1)[1])
            if dispute is None:
                return stripe_error(404, "No such dispute", "resource_missing")
            return 200, json.dumps(dispute).encode()
        if method == "GET" and path.startswith("/v1/payment_intents/") and path.count("/") == 3:
            answer = self.upstream("GET", path, b"")
            if not answer.is_success:
                return answer.status_code, answer.content
            return 200, json.dumps(self.complete(answer.json())).encode()
        if method == "POST" and path == "/v1/refunds":
            return self._refund(parse_qs(body.decode()))
        return None

    def seen(self, method: str, path: str, status: int, content: bytes, body: bytes = b"") -> bytes:
        """Learn from what localstripe answered (new intents, captures); the answer to send."""
        if status != 200 or method != "POST" or not path.startswith("/v1/payment_intents"):
            return content
        intent = json.loads(content)
        if intent.get("object") != "payment_intent":
            return content
        with self.lock:
            self.intents.setdefault(intent["id"], int(intent.get("created") or time.time()))
        if path.endswith("/capture"):
            asked = parse_qs(body.decode()).get("amount_to_capture")
            self._captured(intent, int(asked[0]) if asked else None)
        return json.dumps(self.complete(intent)).encode()

    def _captured(self, intent: Json, asked: int | None) -> None:
        charge = intent.get("latest_charge") or {}
        if asked is None or asked >= int(charge.get("amount") or intent["amount"]):
            with self.lock:  # all of it: nothing released
                self.captured[intent["id"]] = int(charge.get("amount") or intent["amount"])
            return
        released = self.upstream("GET", f"/v1/refunds?payment_intent={intent['id']}", b"")
        with self.lock:
            # localstripe refunds the uncaptured rest; Stripe just releases it.
            total = int(charge.get("amount") or intent["amount"])
            rest = sum(r["amount"] for r in released.json().get("data", []))
            self.captured[intent["id"]] = total - rest
            self.hidden_refunds |= {r["id"] for r in released.json().get("data", [])}

    def complete(self, intent: Json) -> Json:
        """A PaymentIntent as Stripe shows it, with its latest charge's money fields."""
        intent_id = intent["id"]
        status = intent.get("status")
        with self.lock:
            captured = self.forged_captures.get(intent_id, self.captured.get(intent_id, 0))
            refunded = sum(r["amount"] for r in self._refunds_of(intent_id))
            disputed = any(d["payment_intent"] == intent_id for d in self.disputes.values())
            reason = self.canceled_reason.get(intent_id)
        if status == "succeeded" and intent_id not in self.captured and not captured:
            captured = int(intent.get("amount") or 0)  # captured by localstripe directly
        intent["amount_capturable"] = intent["amount"] if status == "requires_capture" else 0
        intent["amount_received"] = captured if status == "succeeded" else 0
        intent["cancellation_reason"] = reason if status == "canceled" else None
        charge = intent.get("latest_charge")
        if isinstance(charge, dict):
            charge.pop("refunds", None)  # not included by Stripe's current API versions
            charge["amount_captured"] = captured if status == "succeeded" else 0
            charge["amount_refunded"] = refunded
            charge["refunded"] = bool(captured) and refunded >= captured
            charge["disputed"] = disputed
        return intent

    def _refunds_of(self, intent_id: str) -> list[Json]:
        return [r for r in self.refunds.values() if r["payment_intent"] == intent_id]

    def _refund(self, form: dict[str, list[str]]) -> tuple[int, bytes]:
        intent_id = (form.get("payment_intent") or [""])[0]
        amount = int((form.get("amount") or ["0"])[0])
        current = self.upstream("GET", f"/v1/payment_intents/{intent_id}", b"")
        if not current.is_success:
            return current.status_code, current.content
        intent = self.complete(current.json())
        left = (
            intent["latest_charge"]["amount_captured"] - intent["latest_charge"]["amount_refunded"]
        )
        if intent["status"] != "succeeded" or amount > left:
            return stripe_error(
                400, "The refund exceeds what is left of the charge.", "amount_too_large"
            )
        answer = self.upstream(
            "POST", "/v1/refunds", f"payment_intent={intent_id}&amount={amount}".encode()
        )
        if not answer.is_success:
            return answer.status_code, answer.content
        refund = answer.json()
        refund["payment_intent"] = intent_id
        with self.lock:
            self.refunds[refund["id"]] = refund
        return 200, json.dumps(refund).encode()

    def _list(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        with self.lock:
            self.list_requests += 1
            if self.rate_limit_every and self.list_requests % self.rate_limit_every == 0:
                self.rate_limited += 1
                return stripe_error(429, "Too many requests; slow down.", "rate_limit")
            items: list[tuple[int, str, Json | None]]
            if path == "/v1/payment_intents":
                items = [(c, i, None) for i, c in self.intents.items()]
            else:
                source = self.refunds if path == "/v1/refunds" else self.disputes
                items = [(o["created"], o["id"], o) for o in source.values()]
        gte = int(params.get("created[gte]", 0))
        intent = params.get("payment_intent")
        items = [t for t in items if t[0] >= gte]
        if intent is not None and path != "/v1/payment_intents":
            items = [t for t in items if t[2] is not None and t[2]["payment_intent"] == intent]
        items.sort(key=lambda t: (-t[0], t[1]))  # newest first, as Stripe lists
        ids = [t[1] for t in items]
        start = (
            ids.index(params["starting_after"]) + 1 if params.get("starting_after") in ids else 0
        )
        limit = min(int(params.get("limit", 10)), 100)
        page = items[start : start + limit]
        if path == "/v1/payment_intents" and (start == 0 or not self.snapshot):
            everything = self.upstream("GET", f"/v1/payment_intents?limit={len(ids) + 10}", b"")
            self.snapshot = {i["id"]: i for i in everything.json().get("data", [])}
        data = [o if o is not None else self._listed(i) for _, i, o in page]
        body = {
            "object": "list",
            "url": path,
            "has_more": start + limit < len(items),
            "data": data,
        }
        return 200, json.dumps(body).encode()

    def _listed(self, intent_id: str) -> Json:
        listed = self.snapshot.get(intent_id)
        return self.complete(json.loads(json.dumps(listed))) if listed else self._intent(intent_id)

    def _intent(self, intent_id: str) -> Json:
        return self.complete(self.upstream("GET", f"/v1/payment_intents/{intent_id}", b"").json())

    # --- acting "at Stripe" ---------------------------------------------------------------------

    def intent(self, intent_id: str) -> Json:
        return self._intent(intent_id)

    def refund_at_stripe(self, intent_id: str, amount: int) -> Json:
        """A refund made in Stripe's dashboard (the ledger did not ask for it)."""
        status, content = self._refund({"payment_intent": [intent_id], "amount": [str(amount)]})
        assert status == 200, content
        return dict(json.loads(content))

    def open_dispute(self, intent_id: str, amount: int, reason: str = "fraudulent") -> Json:
        charge = self._intent(intent_id)["latest_charge"]
        dispute = {
            "id": f"dp_{secrets.token_hex(12)}",
            "object": "dispute",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": intent_id,
            "reason": reason,
            "status": "needs_response",
            "is_charge_refundable": False,
            "balance_transactions": [],
            "metadata": {},
            "livemode": False,
            "created": int(time.time()),
        }
        with self.lock:
            self.disputes[dispute["id"]] = dispute
        return dict(dispute)

    def close_dispute(self, dispute_id: str, *, won: bool) -> Json:
        with self.lock:
            self.disputes[dispute_id]["status"] = "won" if won else "lost"
            return dict(self.disputes[dispute_id])

    def lapse(self, intent_id: str) -> Json:
        """The authorization expired at Stripe: canceled, ``cancellation_reason=automatic``."""
        answer = self.upstream("POST", f"/v1/payment_intents/{intent_id}/cancel", b"")
        assert answer.is_success, answer.text
        with self.lock:
            self.canceled_reason[intent_id] = "automatic"
        return self._intent(intent_id)

    def forge_capture(self, intent_id: str, amount: int) -> None:
        """Make Stripe report ``amount`` captured, whatever the ledger captured (a drift)."""
        with self.lock:
            self.forged_captures[intent_id] = amount

    # --- webhooks -------------------------------------------------------------------------------

    def event(self, event_type: str, obj: Json) -> tuple[bytes, str]:
        """A Stripe event for ``obj``, signed as Stripe signs it."""
        payload = {
            "id": f"evt_{secrets.token_hex(12)}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": obj},
        }
        body = json.dumps(payload)
        header = stripe.WebhookSignature.generate_signature_header(body, self.webhook_secret)
        return body.encode(), header

    def deliver(self, signed: tuple[bytes, str]) -> httpx.Response:
        assert self.webhook_url is not None, "set webhook_url first"
        body, signature = signed
        return httpx.post(
            self.webhook_url,
            content=body,
            headers={"Content-Type": "application/json", "Stripe-Signature": signature},
            timeout=30.0,
        )
