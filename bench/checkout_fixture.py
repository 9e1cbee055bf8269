"""A catalog matching ``bench.shop``'s store, and carts ready to be completed.

``ShopGenerator`` stocks 200 variants at two locations but keeps its prices to
itself; ``catalog_for`` turns them into the catalog the real use cases price
from (one product per variant, the region's tax on shipping), so an order placed
through ``commands.checkout`` costs what the generator's orders cost.

``open_carts`` writes carts the way a storefront leaves them before ``complete``:
started, 2–3 lines, shipping chosen, payment session for the priced total; they
are saved in bulk (the carts are the setup, not what is measured).
``place_in_memory`` decides what ``commands.checkout._place`` decides for such a
cart — reservations, the order, its authorized payment collection, the completed
cart — on aggregates held in memory, and saves nothing: the library's bare
``save()`` of those events is the write path's baseline.
"""

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from bench.shop import CURRENCY, LOCATIONS, SHIPPING, ShopGenerator
from commands.catalog import (
    CatalogFile,
    CatalogSlice,
    ProductIn,
    Region,
    RegionIn,
    SalesChannel,
    SalesChannelIn,
    ShippingOption,
    ShippingOptionIn,
    StockLocationIn,
    Variant,
    VariantIn,
)
from commands.catalog_import import import_catalog
from commands.ledger import Ledger
from commands.pricing import price_cart
from domain.cart import Cart
from domain.ids import order_id_for
from domain.inventory_level import InventoryLevel
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.catalog_store import PostgresCatalog
from infra.container import utc_now
from infra.pg import Pool
from infra.schema import create_tables

REGION = "reg_eu"
CHANNEL = "sc_web"
GRACE = timedelta(hours=1)
SAVE_CHUNK = 250  # carts per save_all while setting up


def catalog_for(shop: ShopGenerator) -> CatalogFile:
    """The generator's variants as a catalog (no inventory: the generator stocked it)."""
    return CatalogFile(
        regions=[
            RegionIn(
                id=REGION, currency=CURRENCY, tax_rate_bp=SHIPPING.tax_rate_bp, tax_shipping=True
            )
        ],
        stock_locations=[StockLocationIn(id=loc, name=loc) for loc in LOCATIONS],
        sales_channels=[SalesChannelIn(id=CHANNEL, stock_location_ids=list(LOCATIONS))],
        shipping_options=[
            ShippingOptionIn(
                id=SHIPPING.option_id, region_id=REGION, name=SHIPPING.name, amount=SHIPPING.amount
            )
        ],
        products=[
            ProductIn(
                id=product_id(variant),
                title=f"Product {variant}",
                tax_rate_bp=rate,
                variants=[
                    VariantIn(
                        id=variant, sku=variant.upper(), title="One size", prices={CURRENCY: price}
                    )
                ],
            )
            for variant, (price, rate) in sorted(shop.prices.items())
        ],
    )


def product_id(variant: str) -> str:
    return "prod_" + variant.removeprefix("variant_")


def shop_with_catalog(ledger: Ledger, pool: Pool, orders: int) -> tuple[ShopGenerator, CatalogFile]:
    """A store of ``orders`` orders (``bench.shop``) with its catalog imported: where the
    HTTP benchmarks start."""
    create_tables(pool)
    shop = ShopGenerator(ledger)
    shop.generate(orders)
    catalog = catalog_for(shop)
    import_catalog(catalog, ledger=ledger, store=PostgresCatalog(pool), now=utc_now(), by="bench")
    return shop, catalog


def memory_catalog(catalog: CatalogFile) -> CatalogSlice:
    """The whole catalog file as the lookups pricing reads (for deciding carts in setup)."""
    return CatalogSlice(
        regions={
            r.id: Region(r.id, r.currency, r.tax_rate_bp, r.tax_shipping) for r in catalog.regions
        },
        sales_channels={
            c.id: SalesChannel(c.id, tuple(c.stock_location_ids)) for c in catalog.sales_channels
        },
        shipping_options={
            o.id: ShippingOption(o.id, o.region_id, o.name, o.amount, o.stock_location_id)
            for o in catalog.shipping_options
        },
        variants={
            v.id: Variant(
                v.id, p.id, v.sku, f"{p.title} / {v.title}", dict(v.prices), p.tax_rate_bp
            )
            for p in catalog.products
            for v in p.variants
        },
    )


@dataclass
class OpenCart:
    """A cart with an open payment session, as ``complete`` finds it."""

    cart: Cart
    intent_id: str
    amount: int

    @property
    def cart_id(self) -> UUID:
        return self.cart.id

    def intent_json(self) -> dict[str, object]:
        return {
            "id": self.intent_id,
            "amount": self.amount,
            "currency": CURRENCY,
            "cart_id": str(self.cart.id),
        }


def open_carts(
    ledger: Ledger, catalog: CatalogSlice, count: int, *, tag: str, now: datetime, seed: int = 7
) -> list[OpenCart]:
    """``count`` carts (2–3 lines each, shipping chosen, payment session open), saved in bulk."""
    rng = random.Random(f"{seed}:{tag}")
    variants = sorted(catalog.variants)
    carts: list[OpenCart] = []
    for index in range(count):
        cart = Cart.start(
            cart_id=uuid5(NAMESPACE_URL, f"bench-open-cart:{tag}:{index}"),
            region_id=REGION,
            sales_channel_id=CHANNEL,
            currency=CURRENCY,
            email=f"buyer{index}@example.com",
            shipping_address={
                "name": f"Buyer {index}",
                "line1": f"{index % 300 + 1} Bench Street",
                "city": "Berlin",
                "postal_code": f"{10_000 + index % 89_999}",
                "country": "DE",
            },
            now=now,
        )
        for n, variant in enumerate(rng.sample(variants, rng.choice((2, 2, 3)))):
            cart.add_line(
                line_id=f"line_{n + 1}", variant_id=variant, quantity=rng.choice((1, 1, 2)), now=now
            )
        cart.choose_shipping(SHIPPING.option_id, now=now)
        total = price_cart(cart, catalog).total
        intent_id = f"pi_{tag}_{index:07d}"
        cart.start_payment_session(intent_id, total, now=now)
        carts.append(OpenCart(cart, intent_id, total))
    for start in range(0, len(carts), SAVE_CHUNK):
        ledger.save_all(*(c.cart for c in carts[start : start + SAVE_CHUNK]))
    return carts


def bare_levels(catalog: CatalogSlice, *, now: datetime) -> dict[str, InventoryLevel]:
    """A level per variant under its own item id (``bare:<variant>``), apart from the shop's."""
    return {
        variant: InventoryLevel.stock(
            item_id=f"bare:{variant}",
            location_id=LOCATIONS[0],
            stocked_quantity=10**9,
            allow_backorder=False,
            now=now,
        )
        for variant in sorted(catalog.variants)
    }


def place_in_memory(
    open_cart: OpenCart,
    levels: dict[str, InventoryLevel],
    catalog: CatalogSlice,
    *,
    now: datetime,
) -> list[Aggregate]:
    """What ``_place`` decides for this cart, on aggregates in memory; nothing is saved."""
    cart, intent_id = open_cart.cart, open_cart.intent_id
    order_id = order_id_for(intent_id)
    priced = price_cart(cart, catalog)
    lines = []
    touched = []
    for line in priced.lines:
        level = levels[line.variant_id]
        level.reserve(line.quantity, order_id=str(order_id), line_id=line.id, now=now)
        touched.append(level)
        lines.append(replace(line, location_id=LOCATIONS[0]))
    order = Order.place(
        cart_id=str(cart.id),
        payment_intent_id=intent_id,
        region_id=cart.region_id,
        sales_channel_id=cart.sales_channel_id,
        currency=CURRENCY,
        email=cart.email,
        shipping_address=cart.shipping_address,
        lines=lines,
        shipping=priced.shipping,
        editable_until=now + GRACE,
        access_token_hash=f"{order_id.int:064x}",
        placed_by="storefront",
        now=now,
    )
    payment = PaymentCollection.open(
        order_id=order_id,
        amount=Money(priced.total, CURRENCY),
        payment_intent_id=intent_id,
        now=now,
    )
    payment.authorize(priced.total, reference=intent_id, capture_before=None, now=now)
    cart.complete(order_id=str(order_id), payment_intent_id=intent_id, now=now)
    return [order, payment, cart, *touched]
