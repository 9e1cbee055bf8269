"""Medusa shapes of the catalog: region, product (options, variants, prices), shipping option."""

from collections.abc import Sequence
from typing import Any

from commands.catalog import Region, ShippingOption
from infra.medusa.amounts import to_json
from infra.medusa.countries import region_countries
from queries.images import ProductImage, thumbnail_of

Json = dict[str, Any]

# One synthetic option per product: the catalog's variants have titles but no options,
# and Medusa storefronts pick a variant by option_id → value.
OPTION_TITLE = "Variant"


def option_id(product_id: str) -> str:
    return f"opt_{product_id}"


def region_out(region: Region) -> Json:
    return {
        "id": region.id,
        "name": region.id,
        "currency_code": region.currency,
        "automatic_taxes": True,
        "countries": region_countries(region),
        "payment_providers": [{"id": "pp_stripe_stripe", "is_enabled": True}],
        "metadata": None,
    }


def images_of(product_id: str, images: Sequence[ProductImage]) -> tuple[str | None, list[Json]]:
    """The product's thumbnail and images in Medusa's shape, in the gallery's order."""
    shaped = [
        {
            "id": image.id,
            "url": image.url,
            "rank": image.rank,
            "product_id": product_id,
            "metadata": None,
        }
        for image in images
    ]
    return thumbnail_of(images), shaped


def product_out(row: Json, region: Region | None, images: Sequence[ProductImage] = ()) -> Json:
    """A product row (``MedusaCatalogReads.products``) in Medusa's shape; prices in
    ``region``'s currency when one is given, as Medusa's ``region_id`` pricing."""
    product_id = row["id"]
    thumbnail, shaped_images = images_of(product_id, images)
    variants = row["variants"] or []
    return {
        "id": product_id,
        "title": row["title"],
        "handle": product_id,
        "subtitle": None,
        "description": None,
        "status": "published",
        "is_giftcard": False,
        "discountable": False,
        "thumbnail": thumbnail,
        "images": shaped_images,
        "collection_id": None,
        "type_id": None,
        "tags": [],
        "metadata": None,
        "options": [
            {
                "id": option_id(product_id),
                "title": OPTION_TITLE,
                "product_id": product_id,
                "values": [
                    {
                        "id": _value_id(v["id"]),
                        "value": v["title"],
                        "option_id": option_id(product_id),
                    }
                    for v in variants
                ],
            }
        ],
        "variants": [_variant_out(product_id, v, region) for v in variants],
    }


def _value_id(variant_id: str) -> str:
    return f"optval_{variant_id}"


def _variant_out(product_id: str, variant: Json, region: Region | None) -> Json:
    available = max(int(variant.get("available", 0)), 0)
    return {
        "id": variant["id"],
        "title": variant["title"],
        "sku": variant["sku"],
        "product_id": product_id,
        "manage_inventory": True,
        "allow_backorder": bool(variant.get("allow_backorder", False)),
        "inventory_quantity": available,
        "options": [
            {
                "id": _value_id(variant["id"]),
                "option_id": option_id(product_id),
                "value": variant["title"],
            }
        ],
        "calculated_price": _calculated_price(variant, region),
        "metadata": None,
    }


def _calculated_price(variant: Json, region: Region | None) -> Json | None:
    if region is None or region.currency not in variant["prices"]:
        return None
    amount = to_json(int(variant["prices"][region.currency]), region.currency)
    return {
        "id": f"price_{variant['id']}_{region.currency}",
        "is_calculated_price_price_list": False,
        "is_calculated_price_tax_inclusive": False,
        "calculated_amount": amount,
        "original_amount": amount,
        "currency_code": region.currency,
        "calculated_price": {"id": None, "price_list_id": None, "price_list_type": None},
        "original_price": {"id": None, "price_list_id": None, "price_list_type": None},
    }


def shipping_option_out(option: ShippingOption, region: Region) -> Json:
    return {
        "id": option.id,
        "name": option.name,
        "price_type": "flat",
        "amount": to_json(option.amount, region.currency),
        "calculated_price": {
            "calculated_amount": to_json(option.amount, region.currency),
            "is_calculated_price_tax_inclusive": False,
        },
        "is_tax_inclusive": False,
        "insufficient_inventory": False,
        "region_id": region.id,
        "service_zone_id": f"serzo_{region.id}",
        "service_zone": {
            "id": f"serzo_{region.id}",
            "fulfillment_set_id": f"fuset_{region.id}",
            "fulfillment_set": {"id": f"fuset_{region.id}", "type": "shipping"},
        },
        "provider_id": "manual_manual",
        "data": {},
        "metadata": None,
    }
