"""Medusa shapes of checkout: cart, line item, shipping method, payment collection and
session, order. Amounts in major units (``amounts.to_json``), computed in minor units
by the ledger's own rules (``domain.lines``) and converted last."""

import re
from typing import Any
from uuid import UUID

from commands.catalog import Variant
from commands.ports import PaymentIntent
from commands.pricing import PricedCart
from domain.lines import Line, Shipping, totals_of
from infra.medusa.amounts import to_json

Json = dict[str, Any]

PROVIDER_ID = "pp_stripe_stripe"
_COLLECTION = re.compile(r"^pay_col_([0-9a-f]{32})$")
ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "company",
    "address_1",
    "address_2",
    "city",
    "postal_code",
    "province",
    "country_code",
    "phone",
)


def payment_collection_id(cart_id: UUID) -> str:
    """A cart has one payment collection; its id follows from the cart's."""
    return f"pay_col_{cart_id.hex}"


def cart_of_payment_collection(collection_id: str) -> UUID | None:
    match = _COLLECTION.match(collection_id)
    return UUID(match.group(1)) if match else None


def totals_out(lines: list[Line], shipping: Shipping | None, currency: str) -> Json:
    """Every total Medusa's cart and order carry; no discounts or gift cards here."""
    totals = totals_of(lines, shipping)
    item_tax = sum(line.tax for line in lines)
    shipping_tax = shipping.tax if shipping else 0
    minor = {
        "item_subtotal": totals.subtotal,
        "item_tax_total": item_tax,
        "item_total": totals.subtotal + item_tax,
        "shipping_subtotal": totals.shipping_total,
        "shipping_tax_total": shipping_tax,
        "shipping_total": totals.shipping_total + shipping_tax,
        "subtotal": totals.subtotal + totals.shipping_total,
        "tax_total": totals.tax_total,
        "total": totals.total,
    }
    out = {name: to_json(value, currency) for name, value in minor.items()}
    for name in list(out):
        out[f"original_{name}"] = out[name]
    zero = to_json(0, currency)
    for name in (
        "discount_total",
        "discount_subtotal",
        "discount_tax_total",
        "gift_card_total",
        "gift_card_tax_total",
        "credit_line_total",
        "credit_line_subtotal",
        "credit_line_tax_total",
    ):
        out[name] = zero
    return out


def address_out(address: dict[str, Any] | None, owner: str) -> Json | None:
    if not address:
        return None
    return {"id": f"addr_{owner}", **{f: address.get(f) for f in ADDRESS_FIELDS}, "metadata": None}


def line_item_out(
    line: Line, cart_id: str, currency: str, variant: Variant | None, title_of: str
) -> Json:
    product_id = variant.product_id if variant else None
    product_title, _, variant_title = title_of.partition(" / ")
    unit = to_json(line.unit_price, currency)
    amounts = {
        "subtotal": to_json(line.subtotal, currency),
        "tax_total": to_json(line.tax, currency),
        "total": to_json(line.total, currency),
    }
    return {
        "id": line.id,
        "cart_id": cart_id,
        "title": line.title,
        "subtitle": variant_title or None,
        "thumbnail": None,
        "quantity": line.quantity,
        "unit_price": unit,
        "compare_at_unit_price": None,
        "is_tax_inclusive": False,
        "is_discountable": False,
        "requires_shipping": True,
        "is_giftcard": False,
        "variant_id": line.variant_id,
        "variant_sku": variant.sku if variant else None,
        "variant_title": variant_title or None,
        "variant": {
            "id": line.variant_id,
            "sku": variant.sku if variant else None,
            "product_id": product_id,
        },
        "product_id": product_id,
        "product_title": product_title,
        "product_handle": product_id,
        "product": {"id": product_id, "handle": product_id, "title": product_title},
        "tax_lines": [
            {"id": f"taxline_{line.id}", "rate": line.tax_rate_bp / 100, "code": "default"}
        ],
        "adjustments": [],
        **amounts,
        "original_subtotal": amounts["subtotal"],
        "original_tax_total": amounts["tax_total"],
        "original_total": amounts["total"],
        "discount_total": to_json(0, currency),
        "metadata": None,
    }


def shipping_method_out(shipping: Shipping, owner: str, currency: str) -> Json:
    return {
        "id": f"casm_{owner}",
        "cart_id": owner,
        "name": shipping.name,
        "shipping_option_id": shipping.option_id,
        "amount": to_json(shipping.amount, currency),
        "is_tax_inclusive": False,
        "subtotal": to_json(shipping.amount, currency),
        "tax_total": to_json(shipping.tax, currency),
        "total": to_json(shipping.amount + shipping.tax, currency),
        "data": {},
        "metadata": None,
    }


SESSION_STATUS = {
    "requires_capture": "authorized",
    "succeeded": "captured",
    "canceled": "canceled",
    "requires_action": "requires_more",
}


def payment_session_out(intent: PaymentIntent, collection_id: str) -> Json:
    """The session's ``data`` is the raw PaymentIntent, so its amount is in minor units."""
    return {
        "id": f"payses_{intent.id}",
        "payment_collection_id": collection_id,
        "provider_id": PROVIDER_ID,
        "currency_code": intent.currency,
        "amount": to_json(intent.amount, intent.currency),
        "status": SESSION_STATUS.get(intent.status, "pending"),
        "data": {
            "id": intent.id,
            "object": "payment_intent",
            "amount": intent.amount,
            "currency": intent.currency,
            "status": intent.status,
            "capture_method": "manual",
            "client_secret": intent.client_secret,
        },
    }


def payment_collection_out(
    cart_id: UUID, currency: str, amount: int, intent: PaymentIntent | None
) -> Json:
    collection_id = payment_collection_id(cart_id)
    sessions = [payment_session_out(intent, collection_id)] if intent is not None else []
    status = "authorized" if intent is not None and intent.is_authorized else "not_paid"
    return {
        "id": collection_id,
        "currency_code": currency,
        "amount": to_json(amount, currency),
        "status": status,
        "payment_providers": [{"id": PROVIDER_ID, "is_enabled": True}],
        "payment_sessions": sessions,
    }


def cart_out(
    priced: PricedCart,
    variants: dict[str, Variant],
    intent: PaymentIntent | None,
    *,
    region: Json,
) -> Json:
    """A priced cart in Medusa's shape; ``intent`` is its PaymentIntent when it has one."""
    cart = priced.cart
    currency = priced.region.currency
    owner = str(cart.id)
    collection = None
    if cart.payment_intent_id is not None:
        collection = payment_collection_out(cart.id, currency, priced.total, intent)
    return {
        "id": owner,
        "currency_code": currency,
        "region_id": cart.region_id,
        "region": region,
        "sales_channel_id": cart.sales_channel_id,
        "email": cart.email or None,
        "customer_id": None,
        "locale": None,
        "shipping_address": address_out(cart.shipping_address, f"ship_{cart.id.hex}"),
        "billing_address": address_out(cart.billing_address, f"bill_{cart.id.hex}"),
        "items": [
            line_item_out(line, owner, currency, variants.get(line.variant_id), line.title)
            for line in priced.lines
        ],
        "shipping_methods": (
            [shipping_method_out(priced.shipping, owner, currency)] if priced.shipping else []
        ),
        "payment_collection": collection,
        "promotions": [],
        "credit_lines": [],
        "completed_at": cart.modified_on.isoformat() if cart.is_completed else None,
        "created_at": cart.created_on.isoformat(),
        "updated_at": cart.modified_on.isoformat(),
        "metadata": None,
        **totals_out(priced.lines, priced.shipping, currency),
    }


def _payments(payment: dict[str, Any], currency: str, row: Json) -> list[Json]:
    """The authorized payment (the starter's order page shows its provider and amount)."""
    if not payment.get("authorized"):
        return []
    return [
        {
            "id": f"pay_{payment.get('payment_intent_id')}",
            "provider_id": PROVIDER_ID,
            "currency_code": currency,
            "amount": to_json(int(payment["authorized"]), currency),
            "captured_amount": to_json(int(payment.get("captured", 0)), currency),
            "refunded_amount": to_json(int(payment.get("refunded", 0)), currency),
            "data": {"id": payment.get("payment_intent_id")},
            "created_at": row["placed_at"].isoformat(),
        }
    ]


ORDER_STATUS = {"placed": "pending", "captured": "completed", "canceled": "canceled"}
# The ledger's payment statuses in Medusa's words: its order PaymentStatus has no dispute
# (an open one waits on the merchant: requires_action), its PaymentCollectionStatus
# calls one a chargeback and a captured collection completed.
PAYMENT_STATUS = {
    "pending": "not_paid",
    "authorized": "authorized",
    "captured": "captured",
    "partially_refunded": "partially_refunded",
    "refunded": "refunded",
    "canceled": "canceled",
    "disputed": "requires_action",
}
COLLECTION_STATUS = {
    "pending": "not_paid",
    "authorized": "authorized",
    "captured": "completed",
    "partially_refunded": "completed",
    "refunded": "completed",
    "canceled": "canceled",
    "disputed": "chargeback",
    "dispute_lost": "chargeback",
}


def _country_only(row: Json) -> dict[str, Any] | None:
    address = row.get("shipping_address")
    return {"country_code": address.get("country_code")} if address else None


def payment_status_out(status: str, payment: dict[str, Any]) -> str:
    """An order's payment status as Medusa names it; money lost in a dispute went back
    to the customer, as a refund does."""
    if status == "dispute_lost":
        returned = int(payment.get("refunded", 0)) + int(payment.get("dispute_lost", 0))
        return "refunded" if returned >= int(payment.get("captured", 0)) else "partially_refunded"
    return PAYMENT_STATUS[status]


def order_out(row: Json, *, personal: bool = True) -> Json:
    """An order from its admin view row (the ledger's state after every change); without
    ``personal``, no e-mail and only the shipping address's country."""
    currency = row["currency"]
    order_id = str(row["order_id"])
    lines = [Line.from_data(item) for item in row["items"]]
    shipping = Shipping.from_data(row["shipping"]) if row.get("shipping") else None
    payment: dict[str, Any] = row.get("payment") or {}
    totals = totals_out(lines, shipping, currency)
    paid = int(payment.get("captured", 0))
    refunded = int(payment.get("refunded", 0))
    return {
        "id": order_id,
        "display_id": None,
        "status": ORDER_STATUS.get(row["status"], row["status"]),
        "payment_status": payment_status_out(row["payment_status"], payment),
        "fulfillment_status": "not_fulfilled",
        "email": (row.get("email") or None) if personal else None,
        "currency_code": currency,
        "region_id": row.get("region_id"),
        "customer_id": None,
        "shipping_address": address_out(
            row.get("shipping_address") if personal else _country_only(row), f"ship_{order_id}"
        ),
        "billing_address": None,
        "items": [
            {**line_item_out(line, order_id, currency, None, line.title), "order_id": order_id}
            for line in lines
        ],
        "shipping_methods": (
            [{**shipping_method_out(shipping, order_id, currency), "order_id": order_id}]
            if shipping
            else []
        ),
        "payment_collections": [
            {
                "id": payment.get("payment_collection_id"),
                "currency_code": currency,
                "amount": to_json(int(payment.get("amount") or row["total"]), currency),
                "authorized_amount": to_json(int(payment.get("authorized", 0)), currency),
                "captured_amount": to_json(paid, currency),
                "refunded_amount": to_json(refunded, currency),
                "status": COLLECTION_STATUS[row["payment_status"]],
                "payments": _payments(payment, currency, row),
            }
        ],
        "summary": {
            "current_order_total": totals["total"],
            "original_order_total": totals["total"],
            "paid_total": to_json(paid, currency),
            "refunded_total": to_json(refunded, currency),
            "transaction_total": to_json(paid - refunded, currency),
            "pending_difference": to_json(row["total"] - (paid - refunded), currency),
        },
        "promotions": [],
        "credit_lines": [],
        "created_at": row["placed_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat() if row.get("updated_at") else None,
        "metadata": None,
        **totals,
    }
