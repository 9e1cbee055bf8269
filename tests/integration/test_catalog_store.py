"""The catalog a cart needs, read in one round trip, answers as the one-by-one lookups do."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from commands.catalog import CatalogFile
from infra.catalog_store import PostgresCatalog
from infra.pg import open_pool
from infra.schema import create_tables
from tests.integration.projection_world import fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "catalog.json"


@pytest.fixture(scope="module")
def catalog(database_url: str) -> Iterator[PostgresCatalog]:
    with fresh_database(database_url) as url:
        pool = open_pool(url, min_size=1, max_size=2)
        try:
            create_tables(pool)
            store = PostgresCatalog(pool)
            store.upsert(CatalogFile.model_validate(json.loads(EXAMPLE.read_text())))
            yield store
        finally:
            pool.close()


def test_a_carts_slice_holds_what_the_lookups_return(catalog: PostgresCatalog) -> None:
    part = catalog.for_cart(
        region_id="eu",
        sales_channel_id="web",
        shipping_option_id="std-eu",
        variant_ids=["tee-m", "tee-m", "no-such-variant"],
    )

    assert part.region("eu") == catalog.region("eu")
    assert part.sales_channel("web") == catalog.sales_channel("web")
    assert part.shipping_option("std-eu") == catalog.shipping_option("std-eu")
    assert part.variant("tee-m") == catalog.variant("tee-m")
    assert part.variants["tee-m"].prices == {"eur": 2500, "usd": 2700}
    assert part.variant("no-such-variant") is None
    assert set(part.variants) == {"tee-m"}


def test_what_the_catalog_does_not_have_is_absent_from_the_slice(
    catalog: PostgresCatalog,
) -> None:
    part = catalog.for_cart(
        region_id="mars", sales_channel_id="phone", shipping_option_id=None, variant_ids=[]
    )

    assert (part.regions, part.sales_channels, part.shipping_options, part.variants) == (
        {},
        {},
        {},
        {},
    )
