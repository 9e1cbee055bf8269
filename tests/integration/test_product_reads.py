"""A product page read in one statement (on the event loop) says what the separate reads say."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from commands.catalog import CatalogFile
from commands.catalog_import import import_catalog
from infra.catalog_store import PostgresCatalog
from infra.read_models import PostgresReadModels
from infra.storefront_reads import PRODUCT_ON_SALE, AsyncStorefrontReads
from tests.integration.projection_world import Shop, fresh_database, open_shop
from tests.unit.domain.builders import NOW

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]

CATALOG: dict[str, Any] = {
    "regions": [{"id": "eu", "currency": "eur", "tax_rate_bp": 2000, "tax_shipping": True}],
    "stock_locations": [
        {"id": "berlin", "name": "Berlin"},
        {"id": "paris", "name": "Paris"},
        {"id": "rome", "name": "Rome"},
    ],
    "sales_channels": [
        {"id": "web", "stock_location_ids": ["berlin", "paris"]},
        {"id": "shop-rome", "stock_location_ids": ["rome"]},
    ],
    "shipping_options": [],
    "products": [
        {
            "id": "tee",
            "title": "T-shirt",
            "tax_rate_bp": None,
            "variants": [
                {"id": "tee-s", "sku": "TEE-S", "title": "S", "prices": {"eur": 2500}},
                {"id": "tee-m", "sku": "TEE-M", "title": "M", "prices": {"eur": 2500, "usd": 2700}},
                {"id": "tee-l", "sku": "TEE-L", "title": "L", "prices": {"eur": 2600}},
            ],
        },
        {
            "id": "gift-card",
            "title": "Gift card",
            "tax_rate_bp": 0,
            "variants": [
                {"id": "card-25", "sku": "CARD-25", "title": "25", "prices": {"eur": 2500}}
            ],
        },
    ],
    "inventory": [
        {"variant_id": "tee-s", "location_id": "berlin", "stocked_quantity": 4},
        {"variant_id": "tee-s", "location_id": "paris", "stocked_quantity": 3},
        {"variant_id": "tee-s", "location_id": "rome", "stocked_quantity": 9},
        {"variant_id": "tee-m", "location_id": "rome", "stocked_quantity": 2},
        {"variant_id": "tee-l", "location_id": "berlin", "stocked_quantity": 0},
    ],
}


@pytest.fixture(scope="module")
def shop_url(database_url: str) -> Iterator[tuple[str, PostgresReadModels]]:
    with fresh_database(database_url) as url, open_shop(url) as shop:
        _stock(shop)
        runtime = shop.runtime()
        runtime.catch_up()
        yield url, PostgresReadModels(shop.pool, runtime)


@pytest.fixture
def models(shop_url: tuple[str, PostgresReadModels]) -> PostgresReadModels:
    return shop_url[1]


def on_sale(
    shop_url: tuple[str, PostgresReadModels], product_id: str, channel: str | None
) -> tuple[dict[str, Any], dict[str, int]] | None:
    """The storefront's async read, from a pool of its own on a loop of its own."""

    async def read() -> tuple[dict[str, Any], dict[str, int]] | None:
        reads = await AsyncStorefrontReads.open(shop_url[0], max_size=1)
        try:
            return await reads.product_on_sale(product_id, channel)
        finally:
            await reads.close()

    return asyncio.run(read())


def _stock(shop: Shop) -> None:
    catalog = CatalogFile.model_validate(CATALOG)
    import_catalog(
        catalog, ledger=shop.ledger, store=PostgresCatalog(shop.pool), now=NOW, by="test"
    )


@pytest.mark.parametrize("channel", [None, "web", "shop-rome", "no-such-channel"])
@pytest.mark.parametrize("product_id", ["tee", "gift-card"])
def test_one_read_equals_the_product_and_its_availability_read_apart(
    shop_url: tuple[str, PostgresReadModels],
    models: PostgresReadModels,
    product_id: str,
    channel: str | None,
) -> None:
    found = on_sale(shop_url, product_id, channel)

    assert found is not None
    row, available = found
    apart = models.product(product_id)
    assert apart is not None
    assert row == apart
    variant_ids = [v["id"] for v in apart["variants"]]
    assert available == models.availability(variant_ids, channel)


def test_availability_sums_the_channels_locations(
    shop_url: tuple[str, PostgresReadModels],
) -> None:
    every = on_sale(shop_url, "tee", None)
    web = on_sale(shop_url, "tee", "web")
    assert every is not None and web is not None
    assert every[1] == {"tee-s": 16, "tee-m": 2, "tee-l": 0}
    assert web[1] == {"tee-s": 7, "tee-l": 0}
    assert [v["id"] for v in web[0]["variants"]] == ["tee-l", "tee-m", "tee-s"]


def test_an_unknown_product_reads_as_none(shop_url: tuple[str, PostgresReadModels]) -> None:
    assert on_sale(shop_url, "no-such-product", "web") is None


# The product page as prepared: psycopg's placeholders became $1, $2.
PRODUCT_TAIL = PRODUCT_ON_SALE.split("json_object_agg")[0][-40:]
PREPARED_PLANS = (
    "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
    "WHERE statement LIKE %(fragment)s"
)


def test_the_product_page_is_planned_once_however_often_it_is_read(
    shop_url: tuple[str, PostgresReadModels],
) -> None:
    """Left to itself PostgreSQL made a custom plan on every execution (its estimate for
    one parameter set beat the generic plan's), so the prepared plan was never reused."""

    async def scenario() -> tuple[list[Any], str, list[dict[str, int]]]:
        reads = await AsyncStorefrontReads.open(shop_url[0], max_size=1)  # one connection
        try:
            answers = [  # psycopg prepares a statement on its sixth execution
                await reads.product_page("tee", channel)
                for _ in range(8)
                for channel in (None, "web", "shop-rome", "no-such-channel")
            ]
            mode = (await reads.rows("SHOW plan_cache_mode", ()))[0]["plan_cache_mode"]
            plans = await reads.rows(PREPARED_PLANS, {"fragment": f"%{PRODUCT_TAIL}%"})
            return answers, mode, plans
        finally:
            await reads.close()

    answers, mode, plans = asyncio.run(scenario())
    assert len(plans) == 1, plans
    assert mode == "force_generic_plan"
    assert plans and plans[0]["custom_plans"] == 0 and plans[0]["generic_plans"] >= 20, plans
    # The generic plan answers as the custom ones did, for every channel.
    assert answers[-4:] == answers[:4]
    assert answers[0] is not None and answers[0][1] == {"tee-s": 16, "tee-m": 2, "tee-l": 0}
    assert answers[1] is not None and answers[1][1] == {"tee-s": 7, "tee-l": 0}
