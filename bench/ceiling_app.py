"""The ceiling for an HTTP completion: only the work one cannot avoid, served as the API is.

    python -m bench.ceiling_app --port N --database-url URL --redis-url URL --stripe-base URL

Same uvicorn settings as ``bench.bare_app`` and ``infra.cli._serve``; no middleware.
``POST /ceiling/carts/{id}/complete`` does what no checkout can skip, and nothing else:

1. one call to the Stripe stand-in through the official SDK (``StripeGateway``,
   retrieving the cart's PaymentIntent, as ``complete`` does);
2. one Redis lock on the PaymentIntent (``RedisLocks``, as ``place_order`` takes it);
3. one eventsourcing ``Application.save`` of the same events a placement saves
   (order, authorized payment collection, completed cart, 2–3 reservations).

The events are decided beforehand in memory (``bench.checkout_fixture.place_in_memory``,
as the write path's bare save does), for carts this server opens itself when the
benchmark asks (``POST /bench/prepare``), on inventory levels of its own. Its ledger
takes no snapshots: concurrent saves of pre-decided level events land out of order,
and a snapshot is taken by loading the level at that version (the real path snapshots
a level every 25 events, so this ceiling does slightly less than the real work).
"""

import argparse
import threading
from datetime import UTC, datetime
from typing import Any

import redis
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from bench.checkout_fixture import CHANNEL, REGION, bare_levels, open_carts, place_in_memory
from bench.shop import SHIPPING
from commands.catalog import CatalogSlice
from commands.ledger import Ledger
from infra.catalog_store import PostgresCatalog
from infra.database import event_store_env
from infra.locks import RedisLocks
from infra.pg import open_pool
from infra.schema import SCHEMA
from infra.stripe_gateway import StripeGateway


class CeilingLedger(Ledger):
    """The ledger's store and transcoding, without snapshots (see the module doc)."""

    snapshotting_intervals = dict.fromkeys((), 0)


class Prepare(BaseModel):
    tag: str
    count: int


def create_ceiling_app(database_url: str, redis_url: str, stripe_base: str) -> FastAPI:
    app = FastAPI(title="ceiling")
    ledger = CeilingLedger(env=event_store_env(database_url))
    pool = open_pool(database_url, min_size=1, max_size=4)
    gateway = StripeGateway("sk_test_bench", stripe_base)
    locks = RedisLocks(redis.Redis.from_url(redis_url))
    prepared: dict[str, tuple[str, list[Any]]] = {}
    guard = threading.Lock()
    held: dict[str, Any] = {}

    def catalog() -> CatalogSlice:
        with pool.connection() as conn:
            variants = [row[0] for row in conn.execute(f"SELECT id FROM {SCHEMA}.variants")]
        return PostgresCatalog(pool).for_cart(
            region_id=REGION,
            sales_channel_id=CHANNEL,
            shipping_option_id=SHIPPING.option_id,
            variant_ids=variants,
        )

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/bench/prepare")
    def prepare(body: Prepare) -> list[dict[str, object]]:
        """Open ``count`` carts and decide their placements in memory (setup, not measured)."""
        now = datetime.now(UTC)
        with guard:
            if "catalog" not in held:
                held["catalog"] = catalog()
                held["levels"] = bare_levels(held["catalog"], now=now)
                ledger.save(*held["levels"].values())
            carts = open_carts(ledger, held["catalog"], body.count, tag=body.tag, now=now)
            for cart in carts:
                placed = place_in_memory(cart, held["levels"], held["catalog"], now=now)
                events = [e for aggregate in placed for e in aggregate.collect_events()]
                prepared[str(cart.cart.id)] = (cart.intent_id, events)
        return [c.intent_json() for c in carts]  # each names its cart_id

    @app.post("/ceiling/carts/{cart_id}/complete")
    def complete(cart_id: str) -> dict[str, Any]:
        with guard:
            found = prepared.pop(cart_id, None)
        if found is None:
            raise HTTPException(404, "no such prepared cart")
        intent_id, events = found
        intent = gateway.retrieve_payment_intent(intent_id)
        if not intent.is_authorized:
            raise HTTPException(409, "not authorized")
        with locks.hold(f"payment-intent:{intent.id}"):
            ledger.save(*events)
        return {"order_id": cart_id, "access_token": "t" * 43, "status": "placed"}

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling_app", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--stripe-base", required=True)
    args = parser.parse_args(argv)
    app = create_ceiling_app(args.database_url, args.redis_url, args.stripe_base)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
