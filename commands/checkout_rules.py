"""What a cart must have before it can be paid: shipping where goods are shipped, and an
address the region serves. Checked when a payment session is asked for and again when
the order is placed (the cart may change in between without a call to Stripe).
"""

from typing import Any

from commands.catalog import CatalogLookup, Region
from commands.errors import (
    ShippingAddressOutsideRegion,
    ShippingAddressRequired,
    ShippingMethodRequired,
)
from commands.pricing import PricedCart


def needs_shipping(priced: PricedCart, catalog: CatalogLookup) -> bool:
    """Whether any line is a good that is shipped (the catalog marks those that are not)."""
    for line in priced.lines:
        variant = catalog.variant(line.variant_id)
        if variant is None or variant.requires_shipping:
            return True
    return False


def check_shipping_address(region: Region, address: dict[str, Any] | None) -> None:
    """Refuse an address in a country the region does not list (any, where none are)."""
    if address is None or region.countries is None:
        return
    # The native body names it ``country``; Medusa storefronts send ``country_code``.
    country = str(address.get("country") or address.get("country_code") or "")
    if not region.ships_to(country):
        raise ShippingAddressOutsideRegion(
            f"Region {region.id!r} does not ship to country {country!r}."
        )


def check_ready_to_pay(priced: PricedCart, catalog: CatalogLookup) -> None:
    """Raise the named reason a cart cannot be paid yet, if there is one."""
    cart = priced.cart
    check_shipping_address(priced.region, cart.shipping_address)
    if not needs_shipping(priced, catalog):
        return
    if priced.shipping is None:
        raise ShippingMethodRequired(
            "The cart holds goods that are shipped; choose a shipping method first."
        )
    if priced.region.countries is not None and cart.shipping_address is None:
        raise ShippingAddressRequired(
            f"Region {priced.region.id!r} ships only to listed countries; "
            "the cart needs a shipping address."
        )
