"""Stripe through the official SDK (``StripeClient``), behind ``PaymentGateway``.

``STRIPE_API_BASE`` points the client at a local emulator in development and tests.

A call that moves money runs under the order's lock (``infra.locks``), so a call with
all its retries must end before that lock's TTL would free the order for another
process: each try waits at most ``CONNECT_SECONDS`` to connect and ``ANSWER_SECONDS``
for the answer (the SDK's own default is 80 s a try, three tries: four minutes).
"""

import json
from datetime import UTC, datetime
from typing import Any

import stripe
from stripe._base_address import BaseAddresses

from commands.errors import (
    CardDeclined,
    InvalidWebhook,
    PaymentProviderUnavailable,
    PaymentRequestRejected,
)
from commands.ports import PaymentIntent

CONNECT_SECONDS = 5.0
ANSWER_SECONDS = 20.0
NETWORK_RETRIES = 2


def longest_call_seconds() -> float:
    """The longest a call may take, every try timing out and the SDK's backoff between."""
    tries = NETWORK_RETRIES + 1
    backoff = stripe.HTTPClient.MAX_DELAY * NETWORK_RETRIES
    return tries * (CONNECT_SECONDS + ANSWER_SECONDS) + backoff


def stripe_client(
    api_key: str,
    api_base: str | None,
    *,
    timeout: tuple[float, float] = (CONNECT_SECONDS, ANSWER_SECONDS),
    retries: int = NETWORK_RETRIES,
) -> stripe.StripeClient:
    """The official SDK's client, at ``api_base`` if given, with our timeouts."""
    base: BaseAddresses = {"api": api_base.rstrip("/")} if api_base else {}
    return stripe.StripeClient(
        api_key,
        base_addresses=base,
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=timeout),
    )


def _intent(obj: Any) -> PaymentIntent:
    data = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    return PaymentIntent(
        id=data["id"],
        status=data.get("status") or "",
        amount=int(data.get("amount") or 0),
        amount_received=int(data.get("amount_received") or 0),
        currency=str(data.get("currency") or "").lower(),
        client_secret=data.get("client_secret"),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        payment_method=_id_of(data.get("payment_method")),
        capture_before=_capture_before(data),
    )


def _id_of(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("id"))
    return str(value) if value else None


def _capture_before(data: dict[str, Any]) -> datetime | None:
    """Stripe states when an authorization lapses on the latest charge's card details."""
    charge = data.get("latest_charge")
    if not isinstance(charge, dict):
        return None
    card = (charge.get("payment_method_details") or {}).get("card") or {}
    stamp = card.get("capture_before")
    return datetime.fromtimestamp(int(stamp), UTC) if stamp else None


class StripeGateway:
    """Every call that moves money carries an idempotency key."""

    def __init__(
        self, api_key: str, api_base: str | None = None, *, request_incremental: bool = False
    ) -> None:
        self._client = stripe_client(api_key, api_base)
        self._request_incremental = request_incremental
        # localstripe refuses `expand`; real Stripe needs it to tell capture_before.
        self._emulated = bool(api_base and api_base.startswith("http://"))

    def create_payment_intent(
        self, *, amount: int, currency: str, cart_id: str, idempotency_key: str
    ) -> PaymentIntent:
        params: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "capture_method": "manual",
            "metadata": {"cart_id": cart_id},
        }
        if self._request_incremental:
            params["payment_method_options"] = {
                "card": {"request_incremental_authorization": "if_available"}
            }
        return self._call(
            self._client.v1.payment_intents.create,
            params=params,
            options={"idempotency_key": idempotency_key},
        )

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntent:
        return self._call(
            self._client.v1.payment_intents.retrieve,
            payment_intent_id,
            params={"expand": ["latest_charge"]} if not self._emulated else None,
        )

    def update_amount(self, payment_intent_id: str, amount: int) -> PaymentIntent:
        return self._call(
            self._client.v1.payment_intents.update, payment_intent_id, params={"amount": amount}
        )

    def capture_payment_intent(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> PaymentIntent:
        return self._call(
            self._client.v1.payment_intents.capture,
            payment_intent_id,
            params={"amount_to_capture": amount},
            options={"idempotency_key": idempotency_key},
        )

    def create_supplementary_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str,
        order_id: str,
        idempotency_key: str,
    ) -> PaymentIntent:
        return self._call(
            self._client.v1.payment_intents.create,
            params={
                "amount": amount,
                "currency": currency,
                "capture_method": "manual",
                "payment_method": payment_method,
                "confirm": True,
                "off_session": True,
                "metadata": {"order_id": order_id, "supplement": "true"},
            },
            options={"idempotency_key": idempotency_key},
        )

    def increment_authorization(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> PaymentIntent:
        return self._call(
            self._client.v1.payment_intents.increment_authorization,
            payment_intent_id,
            params={"amount": amount},
            options={"idempotency_key": idempotency_key},
        )

    def refund_payment_intent(
        self, payment_intent_id: str, *, amount: int, idempotency_key: str
    ) -> str:
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": payment_intent_id, "amount": amount},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return str(refund.id)

    def cancel_payment_intent(
        self, payment_intent_id: str, *, idempotency_key: str
    ) -> PaymentIntent:
        return self._call(
            self._client.v1.payment_intents.cancel,
            payment_intent_id,
            options={"idempotency_key": idempotency_key},
        )

    @staticmethod
    def _call(method: Any, *args: Any, **kwargs: Any) -> PaymentIntent:
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        try:
            return _intent(method(*args, **kwargs))
        except stripe.StripeError as error:
            raise _translate(error) from error


def _translate(error: stripe.StripeError) -> Exception:
    """Stripe's errors in the ledger's words."""
    if isinstance(error, stripe.CardError):
        return CardDeclined(error.user_message or "The card was declined.")
    if isinstance(error, stripe.InvalidRequestError) or error.http_status in (400, 404):
        # A request Stripe (or an emulator without the endpoint) will not serve as asked.
        return PaymentRequestRejected(error.user_message or str(error))
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError):
        return PaymentProviderUnavailable(f"Stripe could not be reached: {error}")
    return PaymentProviderUnavailable(f"Stripe answered with an error: {error}")


class StripeWebhookVerifier:
    """Checks ``Stripe-Signature`` on the raw body with the SDK (tolerance 300 s)."""

    def __init__(self, secret: str | None, tolerance: int = 300) -> None:
        self._secret = secret
        self._tolerance = tolerance

    def verify(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        if not self._secret:
            raise InvalidWebhook("Webhooks are not configured (STRIPE_WEBHOOK_SECRET is unset).")
        try:
            # The SDK decodes the body itself and would fail on bytes that are not UTF-8.
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidWebhook("The webhook body is not UTF-8 text.") from None
        try:
            stripe.WebhookSignature.verify_header(text, signature, self._secret, self._tolerance)
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhook(
                f"The Stripe signature is not valid: {error.user_message or error}"
            ) from None
        try:
            event = json.loads(text)
        except ValueError:
            raise InvalidWebhook("The webhook body is not JSON.") from None
        except RecursionError:  # signed, but nested deeper than any Stripe event
            raise InvalidWebhook("The webhook body is nested too deeply.") from None
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise InvalidWebhook("The webhook body is not a Stripe event.")
        return event
