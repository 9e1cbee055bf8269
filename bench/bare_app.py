"""The baseline server: bare FastAPI endpoints, served as ``orderledger serve`` serves the API.

    python -m bench.bare_app --port N

Same uvicorn settings as ``infra.cli._serve`` (one process, default loop and HTTP
implementation, ``log_config=None``, no access log); no middleware, no database.
The handlers are plain ``def`` like the ledger's routes, so they run in the same
thread pool, and answer JSON of the same shape and size as the routes they stand
beside.
"""

import argparse
from typing import Any

import uvicorn
from fastapi import FastAPI

_PRODUCT = {
    "title": "Product variant_042",
    "variants": [
        {
            "id": "variant_042",
            "sku": "VARIANT_042",
            "title": "Product variant_042 / One size",
            "prices": {"eur": 4_250},
            "available_quantity": 1_999_412,
        }
    ],
}
_ORDER = {
    "status": "placed",
    "payment_status": "authorized",
    "currency": "eur",
    "items": [
        {
            "id": f"line_{n}",
            "variant_id": f"variant_{n:03d}",
            "title": f"Product variant_{n:03d}",
            "quantity": 1,
            "unit_price": 4_250,
            "total": 5_058,
        }
        for n in (1, 2)
    ],
    "subtotal": 8_500,
    "shipping_total": 495,
    "tax_total": 1_709,
    "total": 10_704,
    "placed_at": "2025-01-06T08:00:00+00:00",
    "editable_until": "2025-01-06T09:00:00+00:00",
}


def create_bare_app() -> FastAPI:
    app = FastAPI(title="bare")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bare/carts/{cart_id}/complete")
    def complete(cart_id: str) -> dict[str, Any]:
        return {"order_id": cart_id, "access_token": "t" * 43, "status": "placed"}

    @app.get("/bare/products/{product_id}")
    def product(product_id: str) -> dict[str, Any]:
        return {"id": product_id, **_PRODUCT}

    @app.get("/bare/orders/by-payment-intent/{payment_intent_id}")
    def order(payment_intent_id: str) -> dict[str, Any]:
        return {"order_id": payment_intent_id, **_ORDER}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(
        create_bare_app(), host="127.0.0.1", port=args.port, log_config=None, access_log=False
    )


if __name__ == "__main__":
    main()
