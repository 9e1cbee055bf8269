"""A minimal Stripe stand-in for the HTTP benchmarks, so Stripe's own latency is not measured.

    python -m bench.stripe_standin --port N

Answers the PaymentIntent calls the ledger's gateway makes, in Stripe's JSON
shape: create (``requires_payment_method``), retrieve (``requires_capture``
unless canceled or captured: the customer's card is taken as authorized),
update (amount), cancel and capture. Intents live in memory. One more route,
not Stripe's, lets a benchmark register many intents at once:
``POST /bench/payment_intents`` with a JSON list of ``{id, amount, currency, cart_id}``.
Listens on 127.0.0.1 only.
"""

import argparse
import itertools
import json
import time
from typing import Any

from aiohttp import web

Intent = dict[str, Any]


def _intent(intent_id: str, amount: int, currency: str, metadata: dict[str, str]) -> Intent:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_received": 0,
        "capture_method": "manual",
        "client_secret": f"{intent_id}_secret_bench",
        "created": int(time.time()),
        "currency": currency,
        "latest_charge": None,
        "livemode": False,
        "metadata": metadata,
        "payment_method": None,
        "status": "requires_payment_method",
    }


def _metadata(form: Any) -> dict[str, str]:
    return {
        key[len("metadata[") : -1]: str(value)
        for key, value in form.items()
        if key.startswith("metadata[") and key.endswith("]")
    }


def _not_found(intent_id: str) -> web.Response:
    error = {
        "error": {
            "type": "invalid_request_error",
            "code": "resource_missing",
            "message": f"No such payment_intent: '{intent_id}'",
        }
    }
    return web.json_response(error, status=404)


def build_app() -> web.Application:
    intents: dict[str, Intent] = {}
    numbers = itertools.count(1)

    def found(request: web.Request) -> Intent | None:
        return intents.get(request.match_info["id"])

    async def create(request: web.Request) -> web.Response:
        form = await request.post()
        intent = _intent(
            f"pi_standin{next(numbers):012d}",
            int(str(form["amount"])),
            str(form["currency"]),
            _metadata(form),
        )
        intents[intent["id"]] = intent
        return web.json_response(intent)

    async def retrieve(request: web.Request) -> web.Response:
        intent = found(request)
        if intent is None:
            return _not_found(request.match_info["id"])
        if intent["status"] not in ("canceled", "succeeded"):
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
        return web.json_response(intent)

    async def update(request: web.Request) -> web.Response:
        intent = found(request)
        if intent is None:
            return _not_found(request.match_info["id"])
        form = await request.post()
        if "amount" in form:
            intent["amount"] = int(str(form["amount"]))
        intent["metadata"].update(_metadata(form))
        return web.json_response(intent)

    async def cancel(request: web.Request) -> web.Response:
        intent = found(request)
        if intent is None:
            return _not_found(request.match_info["id"])
        intent["status"], intent["amount_capturable"] = "canceled", 0
        return web.json_response(intent)

    async def capture(request: web.Request) -> web.Response:
        intent = found(request)
        if intent is None:
            return _not_found(request.match_info["id"])
        form = await request.post()
        amount = int(str(form.get("amount_to_capture", intent["amount"])))
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return web.json_response(intent)

    async def register(request: web.Request) -> web.Response:
        for item in json.loads(await request.read()):
            intent = _intent(
                item["id"], int(item["amount"]), item["currency"], {"cart_id": item["cart_id"]}
            )
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
            intents[intent["id"]] = intent
        return web.json_response({"registered": len(intents)})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "intents": len(intents)})

    app = web.Application()
    app.add_routes(
        [
            web.post("/v1/payment_intents", create),
            web.get("/v1/payment_intents/{id}", retrieve),
            web.post("/v1/payment_intents/{id}", update),
            web.post("/v1/payment_intents/{id}/cancel", cancel),
            web.post("/v1/payment_intents/{id}/capture", capture),
            web.post("/bench/payment_intents", register),
            web.get("/health", health),
        ]
    )
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stripe_standin", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    web.run_app(build_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
