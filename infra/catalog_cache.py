"""The catalog as checkout reads it, cached per process and dropped on every change.

A statement trigger on each catalog table (``CATALOG_TRIGGERS``, made by
``create_tables``) sends ``NOTIFY orderledger_catalog`` when a statement that
changed it commits. One thread per process LISTENs on its own connection; any
notification drops the whole cache. A price changed by any process therefore
reaches this one's checkout within the time PostgreSQL takes to deliver the
notification (measured in ``tests/integration/test_catalog_cache.py`` and
``bench/catalog_staleness.py``: milliseconds), and never later than
``max_age`` seconds (an entry is read again once that old, whatever was heard).

While the listener is not LISTENing (starting, or reconnecting after the
connection dropped — a notification may have been missed), nothing is served
from the cache: every read goes to the tables.

A read that started before a change and finished after it could store what it
read after the notification dropped the cache; each fill therefore notes the
cache's generation before reading and stores nothing if a notification came in
meanwhile.
"""

import threading
import time
from collections.abc import Collection
from typing import Any

from commands.catalog import (
    CatalogFile,
    CatalogSlice,
    CatalogStore,
    Region,
    SalesChannel,
    ShippingOption,
    Variant,
)
from infra.catalog_notify import CHANNEL
from infra.catalog_store import PostgresCatalog
from infra.notify_listener import ChannelListener
from infra.pg import Pool


def cached_catalog(pool: Pool, max_age: float) -> tuple[CatalogStore, "CatalogListener | None"]:
    """The catalog store over ``pool``, cached and kept fresh by NOTIFY unless ``max_age`` is 0."""
    store = PostgresCatalog(pool)
    if max_age <= 0:
        return store, None
    cached = CachedCatalog(store, max_age=max_age)
    dsn = pool.conninfo if isinstance(pool.conninfo, str) else pool.conninfo()
    return cached, CatalogListener(dsn, cached).start()


class CachedCatalog:
    """A ``CatalogStore`` whose ``for_cart`` answers from memory while that is safe."""

    def __init__(self, store: CatalogStore, *, max_age: float = 5.0) -> None:
        self._store = store
        self._max_age = max_age
        self._lock = threading.Lock()
        self._generation = 0
        self._listening = False
        self._regions: dict[str, tuple[float, Region]] = {}
        self._channels: dict[str, tuple[float, SalesChannel]] = {}
        self._options: dict[str, tuple[float, ShippingOption]] = {}
        self._variants: dict[str, tuple[float, Variant]] = {}
        self.hits = 0
        self.misses = 0
        # When the last drop happened (monotonic): what the staleness measure reads.
        self.dropped_at = 0.0

    # -- what the listener tells it --------------------------------------------------

    def listening(self, on: bool) -> None:
        """The listener started (or stopped) hearing every change; either way drop all."""
        with self._lock:
            self._listening = on
            self._drop_locked()

    def changed(self) -> None:
        """A catalog table changed (a notification): drop everything."""
        with self._lock:
            self._drop_locked()

    def _drop_locked(self) -> None:
        self._generation += 1
        self._regions.clear()
        self._channels.clear()
        self._options.clear()
        self._variants.clear()
        self.dropped_at = time.monotonic()

    # -- CatalogStore ------------------------------------------------------------------

    def uncached(self) -> CatalogStore:
        return self._store

    def for_cart(
        self,
        *,
        region_id: str,
        sales_channel_id: str,
        shipping_option_id: str | None,
        variant_ids: Collection[str],
    ) -> CatalogSlice:
        held = self._held(region_id, sales_channel_id, shipping_option_id, variant_ids)
        if held is not None:
            return held
        with self._lock:
            generation, serving = self._generation, self._listening
        fresh = self._store.for_cart(
            region_id=region_id,
            sales_channel_id=sales_channel_id,
            shipping_option_id=shipping_option_id,
            variant_ids=variant_ids,
        )
        if serving:
            self._fill(generation, fresh)
        return fresh

    def _held(
        self,
        region_id: str,
        sales_channel_id: str,
        shipping_option_id: str | None,
        variant_ids: Collection[str],
    ) -> CatalogSlice | None:
        oldest = time.monotonic() - self._max_age
        with self._lock:
            if not self._listening:
                return None
            region = _young(self._regions.get(region_id), oldest)
            channel = _young(self._channels.get(sales_channel_id), oldest)
            option = (
                _young(self._options.get(shipping_option_id), oldest)
                if shipping_option_id is not None
                else None
            )
            variants = {v: _young(self._variants.get(v), oldest) for v in variant_ids}
            if (
                region is None
                or channel is None
                or (shipping_option_id is not None and option is None)
                or any(v is None for v in variants.values())
            ):
                self.misses += 1
                return None
            self.hits += 1
        return CatalogSlice(
            regions={region_id: region},
            sales_channels={sales_channel_id: channel},
            shipping_options={shipping_option_id: option}
            if shipping_option_id is not None and option is not None
            else {},
            variants={v: variant for v, variant in variants.items() if variant is not None},
        )

    def _fill(self, generation: int, fresh: CatalogSlice) -> None:
        now = time.monotonic()
        with self._lock:
            if generation != self._generation or not self._listening:
                return  # a change was heard while reading: what was read may be older
            self._regions.update((k, (now, v)) for k, v in fresh.regions.items())
            self._channels.update((k, (now, v)) for k, v in fresh.sales_channels.items())
            self._options.update((k, (now, v)) for k, v in fresh.shipping_options.items())
            self._variants.update((k, (now, v)) for k, v in fresh.variants.items())

    def region(self, region_id: str) -> Region | None:
        return self._store.region(region_id)

    def sales_channel(self, sales_channel_id: str) -> SalesChannel | None:
        return self._store.sales_channel(sales_channel_id)

    def shipping_option(self, shipping_option_id: str) -> ShippingOption | None:
        return self._store.shipping_option(shipping_option_id)

    def variant(self, variant_id: str) -> Variant | None:
        return self._store.variant(variant_id)

    def has_stock_location(self, location_id: str) -> bool:
        return self._store.has_stock_location(location_id)

    def upsert(self, catalog: CatalogFile) -> None:
        self._store.upsert(catalog)
        # This process's own change is seen at once (the notification follows anyway).
        self.changed()


def _young(entry: tuple[float, Any] | None, oldest: float) -> Any:
    if entry is None or entry[0] < oldest:
        return None
    return entry[1]


class CatalogListener(ChannelListener):
    """The thread that LISTENs for catalog changes and tells the cache."""

    def __init__(self, dsn: str, cache: CachedCatalog, *, retry_after: float = 1.0):
        super().__init__(
            dsn, CHANNEL, cache.changed, on_listening=cache.listening, retry_after=retry_after
        )
