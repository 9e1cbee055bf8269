"""Read-only Stripe for reconciliation and the money webhooks, through the official SDK.

Lists are read with the SDK's auto-pagination. Stripe answers 429 when a client goes
faster than its rate limit (100 reads/s live, 25 in test mode); the SDK does not retry
a 429, so every call here does, with exponential backoff and jitter, and a list that
is cut short by one resumes after the last object it yielded.
"""

import functools
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import stripe

from commands.errors import PaymentProviderUnavailable
from commands.reconcile.stripe_records import (
    StripeDispute,
    StripePayment,
    StripeRecordNotFound,
    StripeRefund,
)
from infra.stripe_gateway import stripe_client

T = TypeVar("T")
PAGE = 100  # Stripe's largest page


class StripeRecordsReader:
    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        *,
        attempts: int = 8,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = stripe_client(api_key, api_base)
        self._attempts = attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        self.rate_limited = 0  # 429s waited out, for the run's report

    # --- one object ---------------------------------------------------------------------------

    def payment(self, payment_intent_id: str) -> StripePayment:
        intent = self._call(
            lambda: self._client.v1.payment_intents.retrieve(
                payment_intent_id, params={"expand": ["latest_charge"]}
            )
        )
        return payment_of(intent.to_dict())

    def dispute(self, dispute_id: str) -> StripeDispute:
        return dispute_of(self._call(lambda: self._client.v1.disputes.retrieve(dispute_id)))

    def refunds_of(self, payment_intent_id: str) -> list[StripeRefund]:
        params = {"payment_intent": payment_intent_id, "limit": PAGE}
        return [refund_of(r) for r in self._all(self._client.v1.refunds.list, params)]

    def disputes_of(self, payment_intent_id: str) -> list[StripeDispute]:
        params = {"payment_intent": payment_intent_id, "limit": PAGE}
        return [dispute_of(d) for d in self._all(self._client.v1.disputes.list, params)]

    # --- lists since a date -------------------------------------------------------------------

    def payments_since(self, since: datetime) -> Iterator[StripePayment]:
        params = {
            "created": {"gte": int(since.timestamp())},
            "limit": PAGE,
            "expand": ["data.latest_charge"],
        }
        for intent in self._all(self._client.v1.payment_intents.list, params):
            yield payment_of(intent)

    def refunds_since(self, since: datetime) -> Iterator[StripeRefund]:
        params = {"created": {"gte": int(since.timestamp())}, "limit": PAGE}
        for refund in self._all(self._client.v1.refunds.list, params):
            yield refund_of(refund)

    def disputes_since(self, since: datetime) -> Iterator[StripeDispute]:
        params = {"created": {"gte": int(since.timestamp())}, "limit": PAGE}
        for dispute in self._all(self._client.v1.disputes.list, params):
            yield dispute_of(dispute)

    # --- paging and retrying ------------------------------------------------------------------

    def _all(self, list_method: Callable[..., Any], params: dict[str, Any]) -> Iterator[Any]:
        """Every object of a list: the SDK's auto-pagination, resumed after a 429."""
        last: str | None = None
        while True:
            page_params = {**params, **({"starting_after": last} if last else {})}
            first = self._call(functools.partial(list_method, params=page_params))
            try:
                for obj in first.auto_paging_iter():
                    last = obj["id"]
                    yield obj.to_dict() if hasattr(obj, "to_dict") else obj
                return
            except stripe.RateLimitError:
                self._wait(0)  # the next page was refused: resume after `last`

    def _call(self, request: Callable[[], T]) -> T:
        for attempt in range(self._attempts):
            try:
                return request()
            except stripe.RateLimitError:
                if attempt == self._attempts - 1:
                    raise PaymentProviderUnavailable("Stripe kept answering 429.") from None
                self._wait(attempt)
            except stripe.InvalidRequestError as error:
                if error.http_status == 404:
                    raise StripeRecordNotFound(str(error)) from None
                raise PaymentProviderUnavailable(f"Stripe refused a read: {error}") from None
            except stripe.StripeError as error:
                raise PaymentProviderUnavailable(f"Stripe could not be read: {error}") from None
        raise PaymentProviderUnavailable("Stripe could not be read.")  # pragma: no cover

    def _wait(self, attempt: int) -> None:
        self.rate_limited += 1
        delay = min(self._backoff * 2**attempt, 30.0)
        self._sleep(delay * (0.5 + random.random() / 2))


def _at(stamp: Any) -> datetime:
    return datetime.fromtimestamp(int(stamp or 0), UTC)


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return str(value) if value else None


def payment_of(data: dict[str, Any]) -> StripePayment:
    charge = data.get("latest_charge")
    charge = charge if isinstance(charge, dict) else {}
    return StripePayment(
        id=str(data["id"]),
        status=str(data.get("status") or ""),
        amount=int(data.get("amount") or 0),
        currency=str(data.get("currency") or "").lower(),
        created=_at(data.get("created")),
        amount_capturable=int(data.get("amount_capturable") or 0),
        amount_received=int(data.get("amount_received") or 0),
        metadata={str(k): str(v) for k, v in (data.get("metadata") or {}).items()},
        cancellation_reason=data.get("cancellation_reason"),
        charge_id=_id(data.get("latest_charge")),
        amount_captured=int(charge.get("amount_captured") or 0),
        amount_refunded=int(charge.get("amount_refunded") or 0),
        disputed=bool(charge.get("disputed")),
    )


def refund_of(data: Any) -> StripeRefund:
    data = data.to_dict() if hasattr(data, "to_dict") else data
    return StripeRefund(
        id=str(data["id"]),
        payment_intent_id=_id(data.get("payment_intent")) or "",
        amount=int(data.get("amount") or 0),
        status=str(data.get("status") or ""),
        created=_at(data.get("created")),
        reason=data.get("reason"),
    )


def dispute_of(data: Any) -> StripeDispute:
    data = data.to_dict() if hasattr(data, "to_dict") else data
    return StripeDispute(
        id=str(data["id"]),
        payment_intent_id=_id(data.get("payment_intent")) or "",
        amount=int(data.get("amount") or 0),
        status=str(data.get("status") or ""),
        created=_at(data.get("created")),
        reason=data.get("reason"),
    )
