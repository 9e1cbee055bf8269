"""The catalog cache serves only while it hears every change, and never stores what a
change overtook (issue 25)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

from commands.catalog import CatalogSlice, CatalogStore, Region, SalesChannel, fresh_catalog
from infra.catalog_cache import CachedCatalog


class CountingStore:
    """A catalog store whose region's tax rate is whatever the test set last."""

    def __init__(self) -> None:
        self.rate = 1000
        self.reads = 0
        self.during_read: Any = None

    def for_cart(
        self,
        *,
        region_id: str,
        sales_channel_id: str,
        shipping_option_id: str | None,
        variant_ids: Collection[str],
    ) -> CatalogSlice:
        self.reads += 1
        answer = CatalogSlice(
            {region_id: Region(region_id, "eur", self.rate, True)},
            {sales_channel_id: SalesChannel(sales_channel_id, ("berlin",), True)},
            {},
            {},
        )
        if self.during_read is not None:
            self.during_read()
        return answer


def read(cache: CachedCatalog) -> int:
    region = cache.for_cart(
        region_id="eu", sales_channel_id="web", shipping_option_id=None, variant_ids=[]
    ).region("eu")
    assert region is not None
    return region.tax_rate_bp


def a_cache(store: CountingStore, *, max_age: float = 60.0) -> CachedCatalog:
    return CachedCatalog(cast(CatalogStore, store), max_age=max_age)


def test_given_no_listener_then_every_read_goes_to_the_tables() -> None:
    store = CountingStore()
    cache = a_cache(store)
    read(cache)
    read(cache)
    assert store.reads == 2


def test_given_a_listener_then_reads_are_served_until_a_change_is_heard() -> None:
    store = CountingStore()
    cache = a_cache(store)
    cache.listening(True)
    assert (read(cache), read(cache), store.reads) == (1000, 1000, 1)
    store.rate = 1900
    cache.changed()
    assert (read(cache), store.reads) == (1900, 2)


def test_a_change_heard_while_reading_keeps_that_read_out_of_the_cache() -> None:
    store = CountingStore()
    cache = a_cache(store)
    cache.listening(True)

    def committed_meanwhile() -> None:
        store.rate = 1900
        store.during_read = None
        cache.changed()

    store.during_read = committed_meanwhile
    assert read(cache) == 1000  # read before the change committed
    assert read(cache) == 1900  # not served from that read
    assert store.reads == 2


def test_a_listener_that_lost_its_connection_serves_nothing_and_forgets_everything() -> None:
    store = CountingStore()
    cache = a_cache(store)
    cache.listening(True)
    read(cache)
    cache.listening(False)
    read(cache)
    read(cache)
    assert store.reads == 3


def test_an_entry_older_than_max_age_is_read_again() -> None:
    store = CountingStore()
    cache = a_cache(store, max_age=0.0)
    cache.listening(True)
    read(cache)
    read(cache)
    assert store.reads == 2


def test_a_decision_made_again_reads_the_tables() -> None:
    store = CountingStore()
    cache = a_cache(store)
    underneath = cast(CatalogStore, store)
    assert fresh_catalog(cast(CatalogStore, cache)) is underneath
    assert fresh_catalog(underneath) is underneath
