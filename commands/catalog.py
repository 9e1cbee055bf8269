"""The catalog: regions, stock locations, sales channels, shipping options, products.

Reference data the shop owns, kept in plain tables; inventory quantities are the
exception and go through ``InventoryLevel`` events. Importing is an idempotent
upsert, validated as a whole before anything is written.
"""

from collections.abc import Collection
from dataclasses import dataclass
from typing import Annotated, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.money import CURRENCY_EXPONENTS, MAX_AMOUNT

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
RateBp = Annotated[int, Field(ge=0, le=10_000, strict=True)]
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True)]
Quantity = Annotated[int, Field(ge=0, le=10**9, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _currency(code: str) -> str:
    if code not in CURRENCY_EXPONENTS:
        raise ValueError(f"unknown or non-lowercase currency {code!r}")
    return code


CountryCode = Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]


class RegionIn(_Strict):
    id: Id
    currency: str
    tax_rate_bp: RateBp
    tax_shipping: bool = True
    # ISO 3166-1 alpha-2 codes; unset: the region ships anywhere (as before).
    countries: list[CountryCode] | None = Field(default=None, min_length=1, max_length=300)

    _check_currency = field_validator("currency")(_currency)


class StockLocationIn(_Strict):
    id: Id
    name: Name


class SalesChannelIn(_Strict):
    id: Id
    stock_location_ids: list[Id] = Field(max_length=50)
    # A channel that is not public (B2B, internal) cannot be named in a storefront body.
    public: bool = True


class ShippingOptionIn(_Strict):
    id: Id
    region_id: Id
    name: Name
    amount: Amount
    stock_location_id: Id | None = None


class VariantIn(_Strict):
    id: Id
    sku: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]
    title: Name
    prices: dict[str, Amount]

    @field_validator("prices")
    @classmethod
    def _known_currencies(cls, prices: dict[str, int]) -> dict[str, int]:
        for code in prices:
            _currency(code)
        return prices


class ProductIn(_Strict):
    id: Id
    title: Name
    tax_rate_bp: RateBp | None = None
    # False for goods that are never shipped (downloads, gift cards).
    requires_shipping: bool = True
    variants: list[VariantIn] = Field(min_length=1, max_length=500)
    # File ids (from /admin/uploads) in display order; absent: the images stay as they are.
    images: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=20
    )


class InventoryIn(_Strict):
    variant_id: Id
    location_id: Id
    stocked_quantity: Quantity
    allow_backorder: bool = False


class CatalogFile(_Strict):
    """The catalog file of API.md (also the body of ``POST /admin/catalog``)."""

    regions: list[RegionIn] = Field(default_factory=list, max_length=1_000)
    stock_locations: list[StockLocationIn] = Field(default_factory=list, max_length=1_000)
    sales_channels: list[SalesChannelIn] = Field(default_factory=list, max_length=1_000)
    shipping_options: list[ShippingOptionIn] = Field(default_factory=list, max_length=1_000)
    products: list[ProductIn] = Field(default_factory=list, max_length=10_000)
    inventory: list[InventoryIn] = Field(default_factory=list, max_length=100_000)


# --- what the rest of the application reads ---------------------------------------------


@dataclass(frozen=True)
class Region:
    id: str
    currency: str
    tax_rate_bp: int
    tax_shipping: bool
    countries: tuple[str, ...] | None = None

    def ships_to(self, country: str) -> bool:
        """Whether an address in ``country`` may be served (any, where none are listed)."""
        return self.countries is None or country.lower() in self.countries


@dataclass(frozen=True)
class SalesChannel:
    id: str
    stock_location_ids: tuple[str, ...]
    public: bool = True


@dataclass(frozen=True)
class ShippingOption:
    id: str
    region_id: str
    name: str
    amount: int
    stock_location_id: str | None


@dataclass(frozen=True)
class Variant:
    id: str
    product_id: str
    sku: str
    title: str
    prices: dict[str, int]
    product_tax_rate_bp: int | None
    requires_shipping: bool = True

    def tax_rate_bp(self, region: Region) -> int:
        """The product's own rate where it has one, else the region's."""
        if self.product_tax_rate_bp is not None:
            return self.product_tax_rate_bp
        return region.tax_rate_bp


class CatalogLookup(Protocol):
    """What pricing a cart and choosing its stock locations read from the catalog."""

    def region(self, region_id: str) -> Region | None: ...

    def sales_channel(self, sales_channel_id: str) -> SalesChannel | None: ...

    def shipping_option(self, shipping_option_id: str) -> ShippingOption | None: ...

    def variant(self, variant_id: str) -> Variant | None: ...


@dataclass(frozen=True)
class CatalogSlice:
    """The part of the catalog one cart needs, read at once (a ``CatalogLookup``)."""

    regions: dict[str, Region]
    sales_channels: dict[str, SalesChannel]
    shipping_options: dict[str, ShippingOption]
    variants: dict[str, Variant]

    def region(self, region_id: str) -> Region | None:
        return self.regions.get(region_id)

    def sales_channel(self, sales_channel_id: str) -> SalesChannel | None:
        return self.sales_channels.get(sales_channel_id)

    def shipping_option(self, shipping_option_id: str) -> ShippingOption | None:
        return self.shipping_options.get(shipping_option_id)

    def variant(self, variant_id: str) -> Variant | None:
        return self.variants.get(variant_id)


class CatalogStore(CatalogLookup, Protocol):
    """Where the catalog is kept (a few Postgres tables)."""

    def for_cart(
        self,
        *,
        region_id: str,
        sales_channel_id: str,
        shipping_option_id: str | None,
        variant_ids: Collection[str],
    ) -> CatalogSlice:
        """Everything pricing and stock placement read for one cart, in one round trip."""
        ...

    def has_stock_location(self, location_id: str) -> bool: ...

    def upsert(self, catalog: CatalogFile) -> None:
        """Insert or update everything in ``catalog`` except inventory, in one transaction."""
        ...


@runtime_checkable
class CachedCatalogStore(CatalogStore, Protocol):
    """A catalog store that answers from a cache (``infra.catalog_cache``)."""

    def uncached(self) -> CatalogStore:
        """The store underneath, read fresh."""
        ...


def fresh_catalog(store: CatalogStore) -> CatalogStore:
    """``store`` read fresh: a decision made again must not stand on cached prices."""
    return store.uncached() if isinstance(store, CachedCatalogStore) else store
