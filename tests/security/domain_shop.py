"""A running server for the domain-level security tests (issue 18: findings 3, 5, 6, 9,
10, 11), with Stripe behind a stand-in that logs every call the ledger makes, and a
catalog that uses the fields those findings added (all optional)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import LiveServer, import_catalog, server_of_its_own
from tests.e2e.stripe_standin import StandIn, stripe_standin

# A Redis database of its own: capture timers of other suites' servers never mix in.
SECURITY_REDIS_DB = 9


@dataclass
class Probe:
    server: LiveServer
    stripe: StandIn


@contextmanager
def probe_server(
    database_url: str, redis_url: str, emulator: RunningEmulator, **overrides: Any
) -> Iterator[Probe]:
    """The API and worker on a database of their own, Stripe calls counted."""
    with (
        stripe_standin(emulator.url) as standin,
        server_of_its_own(
            database_url,
            redis_url,
            emulator,
            redis_db=SECURITY_REDIS_DB,
            stripe_api_base=standin.url,
            **overrides,
        ) as live,
    ):
        yield Probe(live, standin)


@dataclass
class Store:
    """One test's catalog: a region (optionally limited to countries), a public channel
    (and, if asked for, an internal one), a lamp, an e-book (shipped unless asked to be
    digital) and a shipping option."""

    suffix: str
    region: str
    channel: str
    internal_channel: str
    shipping: str
    lamp: str
    ebook: str
    lamp_product: str
    ebook_product: str
    location: str


def open_store(
    server: LiveServer,
    *,
    countries: list[str] | None = None,
    currency: str = "eur",
    lamp_price: int = 5000,
    ebook_price: int = 5000,
    digital_ebook: bool = False,
    internal_channel: bool = False,
) -> Store:
    """Import the store's catalog. The fields issue 18 added are sent only when asked
    for (``countries``, ``digital_ebook``, ``internal_channel``), so the other findings'
    tests run on a catalog that main imports too."""
    s = uuid.uuid4().hex[:8]
    store = Store(
        suffix=s,
        region=f"r-{s}",
        channel=f"web-{s}",
        internal_channel=f"b2b-{s}",
        shipping=f"ship-{s}",
        lamp=f"lamp-{s}-v",
        ebook=f"ebook-{s}-v",
        lamp_product=f"lamp-{s}",
        ebook_product=f"ebook-{s}",
        location=f"wh-{s}",
    )
    region: dict[str, Any] = {"id": store.region, "currency": currency, "tax_rate_bp": 2000}
    if countries is not None:
        region["countries"] = countries
    catalog: dict[str, Any] = {
        "regions": [region],
        "stock_locations": [{"id": store.location, "name": "Warehouse"}],
        "sales_channels": [{"id": store.channel, "stock_location_ids": [store.location]}],
        "shipping_options": [
            {
                "id": store.shipping,
                "region_id": store.region,
                "name": "Parcel",
                "amount": 495,
                "stock_location_id": store.location,
            }
        ],
        "products": [
            {
                "id": store.lamp_product,
                "title": "Lamp",
                "variants": [
                    {
                        "id": store.lamp,
                        "sku": f"LAMP-{s}",
                        "title": "Brass",
                        "prices": {currency: lamp_price},
                    },
                ],
            },
            {
                "id": store.ebook_product,
                "title": "E-book",
                "variants": [
                    {
                        "id": store.ebook,
                        "sku": f"EBOOK-{s}",
                        "title": "EPUB",
                        "prices": {currency: ebook_price},
                    },
                ],
            },
        ],
        "inventory": [
            {"variant_id": store.lamp, "location_id": store.location, "stocked_quantity": 1000},
            {"variant_id": store.ebook, "location_id": store.location, "stocked_quantity": 1000},
        ],
    }
    if internal_channel:
        catalog["sales_channels"].append(
            {"id": store.internal_channel, "stock_location_ids": [store.location], "public": False}
        )
    if digital_ebook:
        catalog["products"][1]["requires_shipping"] = False
    import_catalog(server, catalog)
    return store


def new_cart(
    client: httpx.Client,
    store: Store,
    *,
    channel: str | None = None,
    address: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "region_id": store.region,
        "sales_channel_id": channel or store.channel,
        "email": "ada@example.com",
    }
    if address is not None:
        body["shipping_address"] = address
    return client.post("/store/carts", json=body)


def cart_of(client: httpx.Client, store: Store, *variants: str, **cart_args: Any) -> str:
    """A cart holding one of each of ``variants``; returns its id."""
    created = new_cart(client, store, **cart_args)
    assert created.status_code == 201, created.text
    cart_id = str(created.json()["id"])
    for variant in variants:
        added = client.post(
            f"/store/carts/{cart_id}/line-items", json={"variant_id": variant, "quantity": 1}
        )
        assert added.status_code == 200, added.text
    return cart_id


def choose_shipping(client: httpx.Client, cart_id: str, store: Store) -> dict[str, Any]:
    answer = client.post(
        f"/store/carts/{cart_id}/shipping-method", json={"shipping_option_id": store.shipping}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def shipped_lamp(client: httpx.Client, store: Store) -> str:
    """A cart of one lamp, its shipping chosen; returns its id."""
    cart_id = cart_of(client, store, store.lamp)
    choose_shipping(client, cart_id, store)
    return cart_id
