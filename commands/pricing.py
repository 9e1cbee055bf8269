"""Prices a cart from the catalog: the server decides every amount a customer pays."""

from dataclasses import dataclass

from commands.catalog import (
    CatalogLookup,
    CatalogSlice,
    CatalogStore,
    Region,
    ShippingOption,
    Variant,
)
from commands.errors import (
    UnknownRegion,
    UnknownShippingOption,
    UnknownVariant,
    VariantNotPriced,
)
from domain.cart import Cart
from domain.lines import Line, Shipping, Totals, totals_of


@dataclass(frozen=True)
class PricedCart:
    cart: Cart
    region: Region
    lines: list[Line]
    shipping: Shipping | None
    shipping_option: ShippingOption | None
    totals: Totals

    @property
    def total(self) -> int:
        return self.totals.total


def variant_in_region(catalog: CatalogLookup, variant_id: str, region: Region) -> Variant:
    variant = catalog.variant(variant_id)
    if variant is None:
        raise UnknownVariant(f"There is no variant {variant_id!r}.")
    if region.currency not in variant.prices:
        raise VariantNotPriced(f"Variant {variant_id!r} has no price in {region.currency}.")
    return variant


def line_for(
    variant: Variant, region: Region, *, line_id: str, quantity: int, location_id: str
) -> Line:
    return Line(
        id=line_id,
        variant_id=variant.id,
        title=variant.title,
        quantity=quantity,
        unit_price=variant.prices[region.currency],
        tax_rate_bp=variant.tax_rate_bp(region),
        location_id=location_id,
    )


def shipping_for(option: ShippingOption, region: Region) -> Shipping:
    return Shipping(
        option_id=option.id,
        name=option.name,
        amount=option.amount,
        tax_rate_bp=region.tax_rate_bp if region.tax_shipping else 0,
    )


def catalog_for_cart(catalog: CatalogStore, cart: Cart) -> CatalogSlice:
    """What pricing the cart and placing its stock read, in one round trip."""
    return catalog.for_cart(
        region_id=cart.region_id,
        sales_channel_id=cart.sales_channel_id,
        shipping_option_id=cart.shipping_option_id,
        variant_ids=[item["variant_id"] for item in cart.lines.values()],
    )


def price_from_catalog(cart: Cart, store: CatalogStore) -> PricedCart:
    """``price_cart`` on the cart's part of the catalog, read in one round trip."""
    return price_cart(cart, catalog_for_cart(store, cart))


def price_cart(cart: Cart, catalog: CatalogLookup) -> PricedCart:
    """Current catalog prices for the cart; lines have no stock location yet."""
    region = catalog.region(cart.region_id)
    if region is None:
        raise UnknownRegion(f"The cart's region {cart.region_id!r} no longer exists.")
    lines = [
        line_for(
            variant_in_region(catalog, item["variant_id"], region),
            region,
            line_id=item["id"],
            quantity=item["quantity"],
            location_id="",
        )
        for item in cart.lines.values()
    ]
    option = None
    shipping = None
    if cart.shipping_option_id is not None:
        option = catalog.shipping_option(cart.shipping_option_id)
        if option is None:
            raise UnknownShippingOption(
                f"The shipping option {cart.shipping_option_id!r} no longer exists."
            )
        shipping = shipping_for(option, region)
    return PricedCart(
        cart=cart,
        region=region,
        lines=lines,
        shipping=shipping,
        shipping_option=option,
        totals=totals_of(lines, shipping),
    )
