"""``/store/carts``: Medusa's cart and checkout calls over the ledger's cart use cases."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from commands import carts, checkout
from commands.errors import PaymentNotAuthorized, UnknownSalesChannel
from commands.pricing import variant_in_region
from commands.sales_channels import ChannelAccess
from infra.medusa.bodies import AddShippingMethod, ChangeLine, CreateCart, NewLine, UpdateCart
from infra.medusa.deps import Store, StoreDep
from infra.medusa.errors import MedusaError
from infra.medusa.orders import placed_order_row
from infra.medusa.shapes_checkout import order_out

router = APIRouter(prefix="/store/carts", tags=["medusa: carts"])


def _no_promotions(promo_codes: list[str] | None) -> None:
    if promo_codes:
        raise MedusaError("invalid_data", "Promotions are not supported by this store.")


def _channel_for(store: Store, asked: str | None) -> str:
    """The cart's channel: the one asked for if the key has it, else the key's only one."""
    channels = store.key.sales_channel_ids
    if asked is not None:
        if asked not in channels:
            raise MedusaError(
                "invalid_data",
                f"Sales channel {asked} is not associated with the publishable key.",
            )
        return asked
    if len(channels) != 1:
        raise MedusaError(
            "invalid_data",
            "The publishable key has several sales channels; name one with sales_channel_id.",
        )
    return channels[0]


@router.post("")
def create_cart(body: CreateCart, store: StoreDep) -> dict[str, Any]:
    _no_promotions(body.promo_codes)
    services = store.services
    region_id = body.region_id
    if region_id is None:
        regions, count = store.catalog.regions(ids=None, limit=2, offset=0)
        if count != 1:
            raise MedusaError(
                "invalid_data", "region_id is required: the store has several regions."
            )
        region_id = regions[0].id
    region = store.region(region_id)
    if body.currency_code is not None and body.currency_code.lower() != region.currency:
        raise MedusaError("invalid_data", f"Region {region.id} charges in {region.currency}.")
    channel = _channel_for(store, body.sales_channel_id)
    if services.catalog.sales_channel(channel) is None:
        raise UnknownSalesChannel(f"There is no sales channel {channel!r}.")
    items = body.items or []
    for item in items:  # every line is checked before the cart is started
        variant_in_region(services.catalog, item.variant_id, region)
    result = carts.create_cart(
        services,
        region_id=region.id,
        sales_channel_id=channel,
        email=body.email,
        shipping_address=body.shipping_address.stored() if body.shipping_address else None,
        # The key's channels are open to it, public or not.
        access=ChannelAccess(unlocked=frozenset(store.key.sales_channel_ids)),
    )
    cart_id = result.priced.cart.id
    if body.billing_address is not None:
        result = carts.change_details(
            services, cart_id, billing_address=body.billing_address.stored()
        )
    for item in items:
        result = carts.add_line(
            services, cart_id, variant_id=item.variant_id, quantity=item.quantity
        )
    return {"cart": store.render(result.priced)}


@router.get("/{cart_id}")
def get_cart(cart_id: UUID, store: StoreDep) -> dict[str, Any]:
    store.cart(cart_id)
    return {"cart": store.render(carts.get_cart(store.services, cart_id))}


@router.post("/{cart_id}")
def update_cart(cart_id: UUID, body: UpdateCart, store: StoreDep) -> dict[str, Any]:
    cart = store.cart(cart_id)
    _no_promotions(body.promo_codes)
    if body.region_id is not None and body.region_id != cart.region_id:
        raise MedusaError("not_allowed", "A cart's region cannot change; start a new cart.")
    if body.sales_channel_id is not None and body.sales_channel_id != cart.sales_channel_id:
        raise MedusaError("not_allowed", "A cart's sales channel cannot change.")
    result = carts.change_details(
        store.services,
        cart_id,
        email=body.email,
        shipping_address=body.shipping_address.stored() if body.shipping_address else None,
        billing_address=body.billing_address.stored() if body.billing_address else None,
    )
    return {"cart": store.render(result.priced)}


@router.post("/{cart_id}/line-items")
def add_line(cart_id: UUID, body: NewLine, store: StoreDep) -> dict[str, Any]:
    store.cart(cart_id)
    result = carts.add_line(
        store.services, cart_id, variant_id=body.variant_id, quantity=body.quantity
    )
    return {"cart": store.render(result.priced)}


@router.post("/{cart_id}/line-items/{line_id}")
def change_line(cart_id: UUID, line_id: str, body: ChangeLine, store: StoreDep) -> dict[str, Any]:
    store.cart(cart_id)
    result = carts.change_line(store.services, cart_id, line_id, quantity=body.quantity)
    return {"cart": store.render(result.priced)}


@router.delete("/{cart_id}/line-items/{line_id}")
def delete_line(cart_id: UUID, line_id: str, store: StoreDep) -> dict[str, Any]:
    store.cart(cart_id)
    result = carts.change_line(store.services, cart_id, line_id, quantity=0)
    return {
        "id": line_id,
        "object": "line-item",
        "deleted": True,
        "parent": store.render(result.priced),
    }


@router.post("/{cart_id}/shipping-methods")
def add_shipping_method(cart_id: UUID, body: AddShippingMethod, store: StoreDep) -> dict[str, Any]:
    store.cart(cart_id)
    result = carts.choose_shipping(store.services, cart_id, shipping_option_id=body.option_id)
    return {"cart": store.render(result.priced)}


@router.post("/{cart_id}/complete")
def complete_cart(cart_id: UUID, store: StoreDep) -> dict[str, Any]:
    """``{type: "order"}``, or ``{type: "cart", error}`` while the payment is not
    authorized (Medusa's answer to a declined or unconfirmed card); again → the same order."""
    store.cart(cart_id)
    try:
        placed = checkout.complete_cart(store.services, cart_id)
    except PaymentNotAuthorized as error:
        return {
            "type": "cart",
            "cart": store.render(carts.get_cart(store.services, cart_id)),
            "error": {
                "message": str(error),
                "name": "Error",
                "type": "payment_authorization_error",
            },
        }
    row = placed_order_row(store, placed.order_id, placed.position)
    if row is None:
        raise MedusaError(
            "unknown_error", f"Order {placed.order_id} was placed; retrieve it again shortly."
        )
    return {"type": "order", "order": order_out(row)}
