"""A real server for end-to-end tests: uvicorn on 127.0.0.1, PostgreSQL, Redis, localstripe."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
import stripe
import uvicorn

from commands.ports import Clock
from infra.app import create_app
from infra.container import Container, build_container, utc_now
from infra.settings import Settings
from infra.stripe_emulator import RunningEmulator, free_port, start_emulator
from infra.worker import Worker
from tests.databases import fresh_database as a_database

WEBHOOK_SECRET = "whsec_e2e_secret"
TEST_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"


@pytest.fixture(scope="session")
def stripe_emulator() -> Iterator[RunningEmulator]:
    emulator = start_emulator()
    try:
        yield emulator
    finally:
        emulator.stop()


@dataclass
class LiveServer:
    url: str
    container: Container
    admin_key: str
    emulator_url: str
    app: Any = None  # the running FastAPI app (its state holds the limiter's identities)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def admin(self) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {self.admin_key}"})

    def stripe(self) -> stripe.StripeClient:
        return stripe.StripeClient("sk_test_e2e", base_addresses={"api": self.emulator_url})


def _serve(app: Any, port: int, **options: Any) -> tuple[uvicorn.Server, threading.Thread]:
    options = {"lifespan": "on", **options}
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    return server, thread


@contextmanager
def serving(
    settings: Settings,
    *,
    emulator_url: str,
    run_worker: bool = True,
    admin_key_name: str = "e2e",
    admin_key: str | None = None,
    port: int | None = None,
    clock: Clock = utc_now,
    **uvicorn_options: Any,
) -> Iterator[LiveServer]:
    """The one way a test runs the API (with its worker in-process unless ``run_worker`` is
    False) on 127.0.0.1: built from ``settings``, on ``port`` or a free one. A new admin key
    named ``admin_key_name`` unless ``admin_key`` (one made before, on the same database)."""
    container = build_container(settings, clock=clock)
    if admin_key is None:
        _, admin_key = container.admin_keys.create(admin_key_name)
    app = create_app(container_factory=lambda: container, run_worker=run_worker)
    server, thread = _serve(app, port or free_port(), **uvicorn_options)
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{server.config.port}",
            container=container,
            admin_key=admin_key,
            emulator_url=emulator_url,
            app=app,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        container.close()


def server_settings(
    database_url: str, redis_url: str | None, emulator: RunningEmulator | str, **overrides: Any
) -> Settings:
    """The settings of every live test server: the Stripe stand-in (``emulator``, or the
    URL of the Stripe the server should call), an hour of grace, no rate limits."""
    stripe_api_base = emulator if isinstance(emulator, str) else emulator.url
    values: dict[str, Any] = {
        "database_url": database_url,
        "redis_url": redis_url,
        "stripe_api_key": "sk_test_e2e",
        "stripe_api_base": stripe_api_base,
        "stripe_webhook_secret": WEBHOOK_SECRET,
        "capture_grace_seconds": 3600,
        # Every test talks from 127.0.0.1: the rate limits are tested on their own.
        "rate_limit_carts_per_minute": 1_000_000,
        "rate_limit_reviews_per_minute": 1_000_000,
        "rate_limit_writes_per_minute": 1_000_000,
        "rate_limit_checkout_per_minute": 1_000_000,
        "rate_limit_per_cart_per_minute": 1_000_000,
        "admin_auth_failures_per_minute": 1_000_000,
    }
    return Settings(**{**values, **overrides})


@contextmanager
def running_server(
    database_url: str,
    redis_url: str | None,
    emulator: RunningEmulator,
    *,
    run_worker: bool = True,
    admin_key_name: str = "e2e",
    **overrides: Any,
) -> Iterator[LiveServer]:
    """The API with its worker in-process (unless ``run_worker`` is False: then the test
    runs ``infra.worker.Worker`` itself), on 127.0.0.1 and a free port."""
    settings = server_settings(database_url, redis_url, emulator, **overrides)
    with serving(
        settings, emulator_url=emulator.url, run_worker=run_worker, admin_key_name=admin_key_name
    ) as live:
        yield live


@contextmanager
def worker_running(server: LiveServer, **options: Any) -> Iterator[None]:
    """A worker over the server's container, for a server run with ``run_worker=False``."""
    worker = Worker(server.container, **{"poll_seconds": 0.2, **options})
    worker.start()
    try:
        yield
    finally:
        worker.stop()


@pytest.fixture(scope="session")
def live_server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with running_server(database_url, redis_url, stripe_emulator) as server:
        yield server


def fresh_database(database_url: str) -> AbstractContextManager[str]:
    """Another empty database on the same server (for a server with other settings)."""
    return a_database(database_url, "orderledger_e2e")


def own_redis_database(redis_url: str, db: int) -> str:
    """Redis database ``db`` of the server behind ``redis_url``, flushed: a server's capture
    timers never mix with another suite's."""
    url = redis_url.rsplit("/", 1)[0] + f"/{db}"
    redis.Redis.from_url(url).flushdb()
    return url


@contextmanager
def server_of_its_own(
    database_url: str,
    redis_url: str,
    emulator: RunningEmulator,
    *,
    redis_db: int | None = None,
    **options: Any,
) -> Iterator[LiveServer]:
    """``running_server`` on a fresh database (and, given ``redis_db``, a flushed Redis
    database of its own): for a server with settings of its own (``options``)."""
    own_redis = redis_url if redis_db is None else own_redis_database(redis_url, redis_db)
    with (
        fresh_database(database_url) as url,
        running_server(url, own_redis, emulator, **options) as live,
    ):
        yield live


@dataclass
class Shop:
    """One test's own catalog (ids carry a suffix so tests never share stock)."""

    suffix: str
    region: str
    channel: str
    shipping: str
    shipping_no_location: str
    variant: str
    other_variant: str
    berlin: str
    paris: str

    def catalog(self, *, stock: int, backorder: bool, paris_stock: int = 0) -> dict[str, Any]:
        s = self.suffix
        return {
            "regions": [
                {"id": self.region, "currency": "eur", "tax_rate_bp": 2000, "tax_shipping": True},
                {"id": f"us-{s}", "currency": "usd", "tax_rate_bp": 0, "tax_shipping": False},
            ],
            "stock_locations": [
                {"id": self.berlin, "name": "Berlin"},
                {"id": self.paris, "name": "Paris"},
            ],
            "sales_channels": [
                {"id": self.channel, "stock_location_ids": [self.berlin, self.paris]}
            ],
            "shipping_options": [
                {
                    "id": self.shipping,
                    "region_id": self.region,
                    "name": "Standard",
                    "amount": 495,
                    "stock_location_id": self.berlin,
                },
                {
                    "id": self.shipping_no_location,
                    "region_id": self.region,
                    "name": "Any",
                    "amount": 0,
                    "stock_location_id": None,
                },
                {
                    "id": f"ship-us-{s}",
                    "region_id": f"us-{s}",
                    "name": "US",
                    "amount": 900,
                    "stock_location_id": None,
                },
            ],
            "products": [
                {
                    "id": f"tee-{s}",
                    "title": "T-shirt",
                    "tax_rate_bp": None,
                    "variants": [
                        {
                            "id": self.variant,
                            "sku": f"TEE-M-{s}",
                            "title": "M",
                            "prices": {"eur": 2500, "usd": 2700},
                        },
                    ],
                },
                {
                    "id": f"book-{s}",
                    "title": "Book",
                    "tax_rate_bp": 700,
                    "variants": [
                        {
                            "id": self.other_variant,
                            "sku": f"BOOK-{s}",
                            "title": "Paperback",
                            "prices": {"eur": 1999},
                        },
                    ],
                },
            ],
            "inventory": [
                {
                    "variant_id": self.variant,
                    "location_id": self.berlin,
                    "stocked_quantity": stock,
                    "allow_backorder": backorder,
                },
                {
                    "variant_id": self.variant,
                    "location_id": self.paris,
                    "stocked_quantity": paris_stock,
                    "allow_backorder": False,
                },
                {
                    "variant_id": self.other_variant,
                    "location_id": self.berlin,
                    "stocked_quantity": 100,
                    "allow_backorder": False,
                },
            ],
        }


def open_shop(
    server: LiveServer, *, stock: int = 10, backorder: bool = False, paris_stock: int = 0
) -> Shop:
    """Import a catalog with ids of its own into ``server``."""
    s = uuid.uuid4().hex[:8]
    shop = Shop(
        suffix=s,
        region=f"eu-{s}",
        channel=f"web-{s}",
        shipping=f"std-{s}",
        shipping_no_location=f"any-{s}",
        variant=f"tee-m-{s}",
        other_variant=f"book-{s}-pb",
        berlin=f"berlin-{s}",
        paris=f"paris-{s}",
    )
    import_catalog(server, shop.catalog(stock=stock, backorder=backorder, paris_stock=paris_stock))
    return shop


def import_catalog(server: LiveServer, catalog: dict[str, Any]) -> None:
    """``POST /admin/catalog`` as the admin; the catalog must be taken (200)."""
    with server.admin() as admin:
        answer = admin.post("/admin/catalog", json=catalog)
    assert answer.status_code == 200, answer.text


@pytest.fixture
def make_shop(live_server: LiveServer) -> Callable[..., Shop]:
    def make(*, stock: int = 10, backorder: bool = False, paris_stock: int = 0) -> Shop:
        return open_shop(live_server, stock=stock, backorder=backorder, paris_stock=paris_stock)

    return make


def authorize_at_stripe(server: LiveServer, payment_intent_id: str, card: str = TEST_CARD) -> str:
    """Do what the storefront's Stripe.js does: attach a card and confirm."""
    client = server.stripe()
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    client.v1.payment_intents.update(payment_intent_id, params={"payment_method": method.id})
    try:
        intent = client.v1.payment_intents.confirm(payment_intent_id)
    except stripe.CardError:
        return "declined"
    return str(intent.status)


def signed_event(
    payload: dict[str, Any], *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> tuple[bytes, str]:
    """A Stripe-shaped event body and its Stripe-Signature, made with the SDK's own helper."""
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body.encode(), header


def post_webhook(client: httpx.Client, body: bytes, signature: str | None) -> httpx.Response:
    """Deliver a webhook body as Stripe does (``signature`` None: with no Stripe-Signature)."""
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post("/webhooks/stripe", content=body, headers=headers)


def payment_intent_event(
    server: LiveServer, event_type: str, payment_intent_id: str, event_id: str | None = None
) -> dict[str, Any]:
    intent = server.stripe().v1.payment_intents.retrieve(payment_intent_id).to_dict()
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": intent},
    }
