"""Keeping "verified purchase" true: re-assessed whenever the order it names changes.

A review names its order when it is submitted; it is a verified purchase once that
order is captured and while it still holds the product. In the grace period the order
may still gain and lose lines, or be canceled. The process manager calls in here on the
order's line changes, cancellation and capture, and on the review's own submission (an
order that changed while the review was being written), so the flag follows the order.
"""

from collections.abc import Callable, Iterable
from uuid import UUID

from commands.services import Services
from domain.order import Order
from domain.review import Review, is_verified_purchase

LoadReviews = Callable[[list[UUID]], dict[UUID, Review]]


def products_of(services: Services, order: Order, variant_ids: Iterable[str]) -> set[str]:
    """The catalog's products of these variants, read in one round trip (variants no
    longer in the catalog: none)."""
    wanted = set(variant_ids)
    if not wanted:
        return set()
    variants = services.catalog.for_cart(
        region_id=order.region_id,
        sales_channel_id=order.sales_channel_id,
        shipping_option_id=None,
        variant_ids=sorted(wanted),
    ).variants
    return {variant.product_id for variant in variants.values()}


def reassess_reviews(
    services: Services,
    order: Order,
    *,
    ever_held: Iterable[str],
    load: LoadReviews,
    reason: str,
    also_products: Iterable[str] = (),
) -> list[Review]:
    """Re-assess the reviews of ``order`` for the products of ``ever_held`` (variant ids)
    and ``also_products``; returns those whose verification changed (unsaved)."""
    held = {line.variant_id for line in order.lines.values()}
    ever = set(ever_held) | held
    products = products_of(services, order, ever)
    bought = products_of(services, order, held) if ever != held else products
    candidates = products | bought | set(also_products)
    reviews = load([Review.id_for(product_id, order.id) for product_id in sorted(candidates)])
    changed = []
    now = services.clock()
    for review in reviews.values():
        if review.order_id != order.id:
            continue
        still = is_verified_purchase(order.status, bought, review.product_id)
        review.reassess(still_bought=still, reason=reason, now=now)
        if review.pending_events:
            changed.append(review)
    return changed
