"""The Medusa surface's edges over HTTP: keys and channels, error shape, CORS, and the
native API left as it was."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import LiveServer, import_catalog, server_of_its_own
from tests.medusa.conftest import STOREFRONT_ORIGIN, SmallShop

pytestmark = [pytest.mark.e2e]


def medusa(server: LiveServer, key: str | None) -> httpx.Client:
    """A client that talks as the js-sdk does (JSON content type, empty locale, the key)."""
    headers = {
        "content-type": "application/json",
        "accept": "application/json",
        "x-medusa-locale": "",
    }
    if key is not None:
        headers["x-publishable-api-key"] = key
    return httpx.Client(base_url=f"{server.url}/medusa", headers=headers, timeout=30.0)


def key_for(server: LiveServer, *channels: str) -> str:
    return server.container.publishable_keys.create("test", list(channels))[1]


def error_of(answer: httpx.Response) -> tuple[int, str, str]:
    body: dict[str, Any] = answer.json()
    assert set(body) == {"type", "message"}, body
    return answer.status_code, body["type"], body["message"]


def test_errors_have_medusas_shape_and_statuses(
    medusa_server: LiveServer, small_shop: SmallShop
) -> None:
    with medusa(medusa_server, key_for(medusa_server, small_shop.channel)) as client:
        assert error_of(client.post("/store/carts", content=b"{nope")) == (
            400,
            "invalid_data",
            "Invalid JSON in request body",
        )
        status, kind, message = error_of(
            client.post("/store/carts", json={"region_id": small_shop.region, "price": 1})
        )
        assert (status, kind) == (400, "invalid_data") and "price" in message
        assert error_of(client.get("/store/no-such-thing"))[:2] == (404, "not_found")
        assert error_of(client.get("/store/regions/nowhere"))[:2] == (404, "not_found")
        assert error_of(client.get("/store/customers/me")) == (401, "unauthorized", "Unauthorized")
        cart = client.post("/store/carts", json={"region_id": small_shop.region}).json()["cart"]
        status, kind, _ = error_of(client.post(f"/store/carts/{cart['id']}/complete"))
        assert (status, kind) == (400, "invalid_data")  # no payment session yet


def test_a_cart_without_an_email_gets_no_payment_session(
    medusa_server: LiveServer, small_shop: SmallShop
) -> None:
    with medusa(medusa_server, key_for(medusa_server, small_shop.channel)) as client:
        cart = client.post(
            "/store/carts",
            json={
                "region_id": small_shop.region,
                "items": [{"variant_id": small_shop.variant, "quantity": 1}],
            },
        ).json()["cart"]
        assert cart["email"] is None and len(cart["items"]) == 1
        collection = client.post("/store/payment-collections", json={"cart_id": cart["id"]})
        assert collection.status_code == 200, collection.text
        collection_id = collection.json()["payment_collection"]["id"]
        assert (
            client.post("/store/payment-collections", json={"cart_id": cart["id"]}).json()[
                "payment_collection"
            ]["id"]
            == collection_id
        )
        session = client.post(
            f"/store/payment-collections/{collection_id}/payment-sessions",
            json={"provider_id": "pp_stripe_stripe"},
        )
        assert error_of(session)[:2] == (400, "not_allowed")
        assert "e-mail" in error_of(session)[2]
        other = client.post(
            f"/store/payment-collections/{collection_id}/payment-sessions",
            json={"provider_id": "pp_system_default"},
        )
        assert error_of(other)[:2] == (400, "invalid_data")
        assert client.get(f"/store/carts/{cart['id']}").json()["cart"]["payment_collection"] is None


def test_a_key_scopes_carts_to_its_sales_channels(
    medusa_server: LiveServer, small_shop: SmallShop
) -> None:
    both = key_for(medusa_server, small_shop.channel, small_shop.other_channel)
    with medusa(medusa_server, both) as client:
        body = {"region_id": small_shop.region}
        assert error_of(client.post("/store/carts", json=body))[:2] == (400, "invalid_data")
        outside = client.post("/store/carts", json={**body, "sales_channel_id": "elsewhere"})
        assert error_of(outside)[:2] == (400, "invalid_data")
        answer = client.post(
            "/store/carts", json={**body, "sales_channel_id": small_shop.other_channel}
        )
        assert answer.status_code == 200, answer.text
        cart_id = answer.json()["cart"]["id"]
    with medusa(medusa_server, key_for(medusa_server, small_shop.channel)) as client:
        assert error_of(client.get(f"/store/carts/{cart_id}"))[:2] == (404, "not_found")
        added = client.post(
            f"/store/carts/{cart_id}/line-items",
            json={"variant_id": small_shop.variant, "quantity": 1},
        )
        assert error_of(added)[:2] == (404, "not_found")
        answer = client.post("/store/carts", json={"region_id": small_shop.region})
        assert answer.json()["cart"]["sales_channel_id"] == small_shop.channel


def test_cors_for_this_surface_comes_from_store_cors(medusa_server: LiveServer) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-publishable-api-key,x-medusa-locale,authorization",
    }
    with httpx.Client(base_url=medusa_server.url) as client:
        allowed = client.options(
            "/medusa/store/carts", headers={"origin": STOREFRONT_ORIGIN, **preflight}
        )
        refused = client.options(
            "/medusa/store/carts", headers={"origin": "https://evil.example", **preflight}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == STOREFRONT_ORIGIN
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    for header in ("content-type", "x-publishable-api-key", "x-medusa-locale", "authorization"):
        assert header in allowed_headers
    assert "access-control-allow-origin" not in refused.headers


def test_the_native_store_api_answers_as_before(
    medusa_server: LiveServer, small_shop: SmallShop
) -> None:
    with medusa_server.client() as client:
        created = client.post(
            "/store/carts",
            json={
                "region_id": small_shop.region,
                "sales_channel_id": small_shop.channel,
                "email": "ada@example.com",
            },
        )
        assert created.status_code == 201
        assert {"id", "currency", "items", "total"} <= set(created.json())
        no_email = client.post(
            "/store/carts",
            json={"region_id": small_shop.region, "sales_channel_id": small_shop.channel},
        )
        assert no_email.status_code == 422
        assert set(no_email.json()) == {"error", "detail"}
        # No publishable key is asked for on the native surface.
        assert client.get("/store/products").status_code == 200


def test_request_metrics_name_the_surfaces_routes_under_its_prefix(
    medusa_server: LiveServer, small_shop: SmallShop
) -> None:
    with medusa(medusa_server, key_for(medusa_server, small_shop.channel)) as client:
        cart = client.post("/store/carts", json={"region_id": small_shop.region}).json()["cart"]
        assert client.get(f"/store/carts/{cart['id']}").status_code == 200
    with medusa_server.client() as client:
        metrics = client.get("/metrics").text
    assert 'route="/medusa/store/carts/{cart_id}"' in metrics
    assert cart["id"] not in metrics


def test_the_surface_moves_with_medusa_prefix(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> None:
    own_redis = redis_url.rsplit("/", 1)[0] + "/12"  # no other server's capture timers
    with (
        server_of_its_own(
            database_url, own_redis, stripe_emulator, medusa_prefix="/shop/api"
        ) as server,
        httpx.Client(base_url=server.url) as client,
    ):
        moved = client.get("/shop/api/store/regions")
        assert error_of(moved)[:2] == (400, "not_allowed")  # there, asking for a key
        assert client.get("/medusa/store/regions").status_code == 404


def test_a_key_opens_its_internal_channel_and_regions_show_their_countries(
    medusa_server: LiveServer,
) -> None:
    s = uuid.uuid4().hex[:8]
    region, internal = f"nl-{s}", f"b2b-{s}"
    catalog = {
        "regions": [
            {"id": region, "currency": "eur", "tax_rate_bp": 2100, "countries": ["NL", "be"]}
        ],
        "stock_locations": [{"id": f"loc-{s}", "name": "Utrecht"}],
        "sales_channels": [{"id": internal, "stock_location_ids": [f"loc-{s}"], "public": False}],
        "shipping_options": [],
        "products": [],
        "inventory": [],
    }
    import_catalog(medusa_server, catalog)
    with medusa_server.client() as native:
        refused = native.post(
            "/store/carts",
            json={"region_id": region, "sales_channel_id": internal, "email": "a@example.com"},
        )
    assert refused.status_code == 400, refused.text  # the native body cannot name it

    with medusa(medusa_server, key_for(medusa_server, internal)) as client:
        shown = client.get(f"/store/regions/{region}").json()["region"]
        cart = client.post("/store/carts", json={"region_id": region})
        assert cart.status_code == 200, cart.text
        cart_id = cart.json()["cart"]["id"]
        outside = client.post(
            f"/store/carts/{cart_id}",
            json={"shipping_address": {"first_name": "A", "country_code": "de"}},
        )
        inside = client.post(
            f"/store/carts/{cart_id}",
            json={"shipping_address": {"first_name": "A", "country_code": "nl"}},
        )

    assert sorted(c["iso_2"] for c in shown["countries"]) == ["be", "nl"]
    assert cart.json()["cart"]["sales_channel_id"] == internal
    assert error_of(outside)[:2] == (400, "invalid_data")
    assert inside.status_code == 200, inside.text
    assert inside.json()["cart"]["shipping_address"]["country_code"] == "nl"


def test_the_edges_refusals_have_medusas_shape_under_its_prefix(
    medusa_server: LiveServer, small_shop: SmallShop
) -> None:
    key = key_for(medusa_server, small_shop.channel)
    too_large = b'{"region_id": "' + b"x" * (2 << 20) + b'"}'
    with medusa(medusa_server, key) as client:
        status, kind, message = error_of(client.post("/store/carts", content=too_large))
        assert (status, kind) == (413, "invalid_data") and "bytes" in message
        status, kind, _ = error_of(client.get("/store/regions", params={"q": "a\x00b"}))
        assert (status, kind) == (400, "invalid_data")
    # The native API keeps its own shape for the same refusal.
    with httpx.Client(base_url=medusa_server.url, timeout=30.0) as native:
        answer = native.post("/store/carts", content=too_large)
        assert answer.status_code == 413 and set(answer.json()) == {"error", "detail"}
