"""``/store`` reads: products with availability, and an order by its PaymentIntent or by
its id with the order's token."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from domain.ids import order_id_for
from queries.api.deps import (
    OrderAccessDep,
    ReadModelsDep,
    ReadsByIdDep,
    StorefrontReadsDep,
    ViewPositionsDep,
    caught_up_with,
)
from queries.consistency import read_by_id
from queries.errors import NotFoundError
from queries.images import FileUrlDep, ProductImage, ProductImagesDep, images_from, thumbnail_of

router = APIRouter(prefix="/store", tags=["store: reads"])


class OrderItem(BaseModel):
    id: str
    variant_id: str
    title: str
    quantity: int
    unit_price: int
    total: int


class OrderSummary(BaseModel):
    """What a storefront may show about an order: no e-mail, address, names or secrets."""

    order_id: str
    status: str
    payment_status: str
    currency: str
    items: list[OrderItem]
    subtotal: int
    shipping_total: int
    tax_total: int
    total: int
    placed_at: str
    editable_until: str


class VariantOut(BaseModel):
    id: str
    sku: str
    title: str
    prices: dict[str, int]
    available_quantity: int


class ImageOut(BaseModel):
    id: str
    url: str
    rank: int
    content_type: str
    size: int


class ProductOut(BaseModel):
    id: str
    title: str
    variants: list[VariantOut]
    thumbnail: str | None = None  # the first image's URL
    images: list[ImageOut] = []


def summary_of(row: dict[str, Any]) -> OrderSummary:
    from domain.money import tax_on

    items = [
        OrderItem(
            id=item["id"],
            variant_id=item["variant_id"],
            title=item["title"],
            quantity=item["quantity"],
            unit_price=item["unit_price"],
            total=item["unit_price"] * item["quantity"]
            + tax_on(item["unit_price"] * item["quantity"], item["tax_rate_bp"]),
        )
        for item in row["items"]
    ]
    return OrderSummary(
        order_id=str(row["order_id"]),
        status=row["status"],
        payment_status=row["payment_status"],
        currency=row["currency"],
        items=items,
        subtotal=row["subtotal"],
        shipping_total=row["shipping_total"],
        tax_total=row["tax_total"],
        total=row["total"],
        placed_at=row["placed_at"].isoformat(),
        editable_until=row["editable_until"].isoformat(),
    )


@router.get(
    "/orders/by-payment-intent/{payment_intent_id}",
    dependencies=[caught_up_with("storefront_orders")],
)
async def order_by_payment_intent(
    payment_intent_id: str, reads: StorefrontReadsDep, positions: ViewPositionsDep
) -> OrderSummary:
    """The order placed for this PaymentIntent; 404 until the ledger has placed it."""
    order_id = order_id_for(payment_intent_id)
    row = await read_by_id(
        lambda: reads.order_by_payment_intent(payment_intent_id),
        positions=positions,
        aggregate_ids=[order_id],
        views=("storefront_orders",),
        not_found="No order is known for this payment yet.",
    )
    return summary_of(row)


OrderToken = Annotated[str | None, Header(alias="X-Order-Token", max_length=200)]


@router.get("/orders/{order_id}", dependencies=[caught_up_with("storefront_orders")])
async def order_by_id(
    order_id: UUID,
    reads: ReadsByIdDep,
    positions: ViewPositionsDep,
    access: OrderAccessDep,
    x_order_token: OrderToken = None,
) -> OrderSummary:
    """The order's summary for its customer (``X-Order-Token``, as ``complete`` gave it).
    A wrong or missing token is the same 404 as an unknown order."""
    not_found = f"There is no order {order_id}."
    if not x_order_token or not await run_in_threadpool(access.allows, order_id, x_order_token):
        raise NotFoundError(not_found)
    row = await read_by_id(
        lambda: reads.storefront_order(order_id),
        positions=positions,
        aggregate_ids=[order_id],
        views=("storefront_orders",),
        not_found=not_found,
    )
    return summary_of(row)


def _products_out(
    rows: list[dict[str, Any]],
    available: dict[str, int],
    images: dict[str, list[ProductImage]],
) -> list[ProductOut]:
    return [
        ProductOut(
            id=row["id"],
            title=row["title"],
            thumbnail=thumbnail_of(images.get(row["id"], [])),
            images=[ImageOut(**image.out()) for image in images.get(row["id"], [])],
            variants=[
                VariantOut(
                    id=v["id"],
                    sku=v["sku"],
                    title=v["title"],
                    prices=v["prices"],
                    available_quantity=max(available.get(v["id"], 0), 0),
                )
                for v in row["variants"]
            ],
        )
        for row in rows
    ]


@router.get("/products", dependencies=[caught_up_with("inventory_levels")])
def list_products(
    models: ReadModelsDep,
    product_images: ProductImagesDep,
    sales_channel_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    rows = models.products(limit=limit, offset=offset)
    variant_ids = [v["id"] for row in rows for v in row["variants"]]
    available = models.availability(variant_ids, sales_channel_id)
    images = product_images.images_of([row["id"] for row in rows])
    return {"data": _products_out(rows, available, images), "limit": limit, "offset": offset}


@router.get("/products/{product_id}", dependencies=[caught_up_with("inventory_levels")])
async def get_product(
    product_id: str,
    reads: StorefrontReadsDep,
    url_for: FileUrlDep,
    sales_channel_id: Annotated[str | None, Query(max_length=64)] = None,
) -> ProductOut:
    found = await reads.product_page(product_id, sales_channel_id)
    if found is None:
        raise NotFoundError(f"There is no product {product_id!r}.")
    row, available, stored = found
    images = {row["id"]: images_from(stored, url_for)}
    return _products_out([row], available, images)[0]
