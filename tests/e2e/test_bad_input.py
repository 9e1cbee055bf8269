"""Bad input is a 4xx with ``{"error", "detail"}`` and leaves the ledger as it was."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from domain.ids import inventory_level_id_for
from tests.e2e.checkout_flow import cart_with
from tests.e2e.conftest import LiveServer, Shop
from tests.e2e.ledger_probe import settled_head


@contextmanager
def nothing_written(server: LiveServer) -> Iterator[None]:
    head = settled_head(server)
    yield
    assert server.container.ledger.head == head, "the refused request wrote to the ledger"


def assert_refused(answer: httpx.Response, status: int, error: str) -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "detail"}, body
    assert body["error"] == error, body
    assert isinstance(body["detail"], str) and body["detail"], body


def new_cart(client: httpx.Client, shop: Shop, **overrides: Any) -> httpx.Response:
    body = {"region_id": shop.region, "sales_channel_id": shop.channel, "email": "ada@example.com"}
    return client.post("/store/carts", json={**body, **overrides})


def empty_cart(client: httpx.Client, shop: Shop) -> str:
    answer = new_cart(client, shop)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_adding_an_unknown_variant_is_refused(live_server: LiveServer, make_shop) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart_id = empty_cart(client, shop)
        with nothing_written(live_server):
            answer = client.post(
                f"/store/carts/{cart_id}/line-items",
                json={"variant_id": f"no-such-{shop.suffix}", "quantity": 1},
            )
        assert_refused(answer, 400, "UnknownVariant")
        assert client.get(f"/store/carts/{cart_id}").json()["items"] == []


def test_adding_a_variant_without_a_price_in_the_carts_currency_is_refused(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    with live_server.client() as client:
        answer = new_cart(client, shop, region_id=f"us-{shop.suffix}")
        assert answer.status_code == 201, answer.text
        with nothing_written(live_server):
            refused = client.post(
                f"/store/carts/{answer.json()['id']}/line-items",
                json={"variant_id": shop.other_variant, "quantity": 1},
            )
        assert_refused(refused, 400, "VariantNotPriced")


def test_an_unknown_cart_is_not_found_and_a_malformed_cart_id_is_invalid(
    live_server: LiveServer,
) -> None:
    unknown = uuid.uuid4()
    with live_server.client() as client, nothing_written(live_server):
        assert_refused(client.get(f"/store/carts/{unknown}"), 404, "CartNotFound")
        for path, body in (
            ("line-items", {"variant_id": "x", "quantity": 1}),
            ("shipping-method", {"shipping_option_id": "x"}),
            ("payment-session", None),
            ("complete", None),
        ):
            answer = client.post(f"/store/carts/{unknown}/{path}", json=body)
            assert_refused(answer, 404, "CartNotFound")
        assert_refused(client.get("/store/carts/not-a-uuid"), 422, "ValidationError")
        answer = client.post(
            "/store/carts/12345/line-items", json={"variant_id": "x", "quantity": 1}
        )
        assert_refused(answer, 422, "ValidationError")


@pytest.mark.parametrize(
    ("quantity", "status", "error"),
    [
        # Whole numbers outside 1..999: the domain's rule.
        *((q, 400, "InvalidQuantity") for q in (0, -1, -(10**9), 1000, 10**9)),
        # Not a sane integer at all: the request body's schema.
        *((q, 422, "ValidationError") for q in ("2", 1.5, True, None, 10**13)),
    ],
)
def test_a_quantity_that_is_not_one_to_999_is_refused_when_adding(
    live_server: LiveServer, make_shop, quantity: Any, status: int, error: str
) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart_id = empty_cart(client, shop)
        with nothing_written(live_server):
            answer = client.post(
                f"/store/carts/{cart_id}/line-items",
                json={"variant_id": shop.variant, "quantity": quantity},
            )
        assert_refused(answer, status, error)


def test_changing_a_line_to_a_negative_or_huge_quantity_is_refused(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart = cart_with(client, shop, quantity=1)
        line_id = cart["items"][0]["id"]
        with nothing_written(live_server):
            for quantity in (-1, 10**9):
                answer = client.post(
                    f"/store/carts/{cart['id']}/line-items/{line_id}", json={"quantity": quantity}
                )
                assert_refused(answer, 400, "InvalidQuantity")
            unknown_line = client.post(
                f"/store/carts/{cart['id']}/line-items/no-such-line", json={"quantity": 1}
            )
            assert_refused(unknown_line, 404, "UnknownLineItem")
        assert client.get(f"/store/carts/{cart['id']}").json()["items"][0]["quantity"] == 1


def test_a_client_cannot_send_a_price(live_server: LiveServer, make_shop) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart = cart_with(client, shop, quantity=1)
        line_id = cart["items"][0]["id"]
        with nothing_written(live_server):
            for path, body in (
                ("line-items", {"variant_id": shop.variant, "quantity": 1, "unit_price": 1}),
                ("line-items", {"variant_id": shop.variant, "quantity": 1, "amount": 1}),
                (f"line-items/{line_id}", {"quantity": 2, "unit_price": 1}),
                ("shipping-method", {"shipping_option_id": shop.shipping, "amount": 0}),
                ("payment-session", {"amount": 1}),
            ):
                answer = client.post(f"/store/carts/{cart['id']}/{path}", json=body)
                assert_refused(answer, 422, "ValidationError")
            creation = new_cart(client, shop, total=1)
            assert_refused(creation, 422, "ValidationError")
        assert client.get(f"/store/carts/{cart['id']}").json() == cart


def test_a_shipping_option_of_another_region_or_none_at_all_is_refused(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart = cart_with(client, shop, quantity=1)
        with nothing_written(live_server):
            other_region = client.post(
                f"/store/carts/{cart['id']}/shipping-method",
                json={"shipping_option_id": f"ship-us-{shop.suffix}"},
            )
            assert_refused(other_region, 400, "ShippingOptionNotInRegion")
            unknown = client.post(
                f"/store/carts/{cart['id']}/shipping-method",
                json={"shipping_option_id": f"no-such-{shop.suffix}"},
            )
            assert_refused(unknown, 400, "UnknownShippingOption")
        assert (
            client.get(f"/store/carts/{cart['id']}").json()["shipping_option_id"] == shop.shipping
        )


def test_a_cart_for_an_unknown_region_or_sales_channel_is_refused(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    with live_server.client() as client, nothing_written(live_server):
        assert_refused(
            new_cart(client, shop, region_id=f"mars-{shop.suffix}"), 400, "UnknownRegion"
        )
        assert_refused(
            new_cart(client, shop, sales_channel_id=f"fax-{shop.suffix}"),
            400,
            "UnknownSalesChannel",
        )
        missing = client.post("/store/carts", json={"region_id": shop.region})
        assert_refused(missing, 422, "ValidationError")


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "ada@example",
        "ada @example.com",
        "@example.com",
        "ada@@x.com",
        "ada@example.com\n",
        "ada\u0000@example.com",
    ],
)
def test_a_cart_with_a_bad_email_address_is_refused(
    live_server: LiveServer, make_shop, email: str
) -> None:
    shop = make_shop()
    with live_server.client() as client, nothing_written(live_server):
        answer = new_cart(client, shop, email=email)
    assert_refused(answer, 400, "InvalidRequestValue")


def test_ids_with_control_characters_are_refused_not_crashed_on(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart_id = empty_cart(client, shop)
        with nothing_written(live_server):
            for answer in (
                new_cart(client, shop, region_id="eu\u0000"),
                new_cart(client, shop, sales_channel_id="web\u0000"),
                client.post(
                    f"/store/carts/{cart_id}/line-items",
                    json={"variant_id": "tee\u0000", "quantity": 1},
                ),
                client.post(
                    f"/store/carts/{cart_id}/shipping-method",
                    json={"shipping_option_id": "std\u0000"},
                ),
            ):
                assert 400 <= answer.status_code < 500, answer.text
                assert set(answer.json()) == {"error", "detail"}


def test_a_payment_session_for_an_empty_cart_is_refused(live_server: LiveServer, make_shop) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart_id = empty_cart(client, shop)
        with nothing_written(live_server):
            answer = client.post(f"/store/carts/{cart_id}/payment-session")
        assert_refused(answer, 409, "CartStateConflict")
        assert client.get(f"/store/carts/{cart_id}").json()["payment_intent_id"] is None


def test_complete_before_authorization_writes_nothing(live_server: LiveServer, make_shop) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart = cart_with(client, shop)
        with nothing_written(live_server):
            answer = client.post(f"/store/carts/{cart['id']}/complete")
        assert_refused(answer, 409, "PaymentSessionMissing")
        session = client.post(f"/store/carts/{cart['id']}/payment-session")
        assert session.status_code == 200, session.text
        with nothing_written(live_server):
            answer = client.post(f"/store/carts/{cart['id']}/complete")
        assert_refused(answer, 409, "PaymentNotAuthorized")
        intent = live_server.stripe().v1.payment_intents.retrieve(
            session.json()["payment_intent_id"]
        )
        assert intent.status == "requires_payment_method"


@pytest.mark.parametrize("raw", ['{"region_id": ', "{'a': 1}", "not json", '{"a": 1,}'])
def test_a_body_that_is_not_json_is_refused_as_malformed(
    live_server: LiveServer, make_shop, raw: str
) -> None:
    shop = make_shop()
    with live_server.client() as client:
        cart_id = empty_cart(client, shop)
        headers = {"Content-Type": "application/json"}
        with nothing_written(live_server):
            for path in ("/store/carts", f"/store/carts/{cart_id}/line-items"):
                answer = client.post(path, content=raw.encode(), headers=headers)
                assert_refused(answer, 400, "MalformedJSON")
            with live_server.admin() as admin:
                answer = admin.post("/admin/catalog", content=raw.encode(), headers=headers)
                assert_refused(answer, 400, "MalformedJSON")


def test_a_catalog_with_references_to_nothing_is_refused_whole(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=10)
    s = shop.suffix
    catalog = shop.catalog(stock=99, backorder=True)
    catalog["regions"].append(
        {"id": f"new-{s}", "currency": "eur", "tax_rate_bp": 0, "tax_shipping": False}
    )
    catalog["shipping_options"].append(
        {
            "id": f"lost-{s}",
            "region_id": f"atlantis-{s}",
            "name": "Lost",
            "amount": 0,
            "stock_location_id": None,
        }
    )
    catalog["inventory"].append(
        {
            "variant_id": f"ghost-{s}",
            "location_id": shop.berlin,
            "stocked_quantity": 1,
            "allow_backorder": False,
        }
    )
    services = live_server.container.services
    with live_server.admin() as admin, nothing_written(live_server):
        answer = admin.post("/admin/catalog", json=catalog)
    assert_refused(answer, 400, "InvalidCatalog")
    assert f"atlantis-{s}" in answer.json()["detail"]
    assert f"ghost-{s}" in answer.json()["detail"]
    assert services.catalog.region(f"new-{s}") is None
    assert services.catalog.shipping_option(f"lost-{s}") is None
    level = live_server.container.ledger.repository.get(
        inventory_level_id_for(shop.variant, shop.berlin)
    )
    assert (level.stocked, level.allow_backorder) == (10, False)


def test_a_catalog_that_breaks_the_file_format_is_an_invalid_body(
    live_server: LiveServer, make_shop
) -> None:
    shop = make_shop(stock=10)
    catalog = shop.catalog(stock=10, backorder=False)
    catalog["products"][0]["variants"][0]["prices"] = {"eur": -1}
    with live_server.admin() as admin, nothing_written(live_server):
        answer = admin.post("/admin/catalog", json=catalog)
    assert_refused(answer, 422, "ValidationError")
