"""Every personal field the event store holds: one home for the list.

Per event topic (and per aggregate topic, for snapshots), the fields that are sealed
with their subject's data key. Money, quantities, ids, statuses and times are not
here: they stay in clear, so audit replay and verify never need a key.
"""

from __future__ import annotations

from eventsourcing.utils import get_topic

from domain.cart import Cart
from domain.order import Order
from domain.review import Review

EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    get_topic(Order.Placed): ("email", "shipping_address"),
    get_topic(Cart.Created): ("email", "shipping_address"),
    get_topic(Cart.DetailsChanged): ("email", "shipping_address", "billing_address"),
    get_topic(Review.Submitted): ("author_name",),
}

SNAPSHOT_FIELDS: dict[str, tuple[str, ...]] = {
    get_topic(Order): ("email", "shipping_address"),
    get_topic(Cart): ("email", "shipping_address", "billing_address"),
    get_topic(Review): ("author_name",),
}

# A review's author is the customer of the order it names (a verified review).
ORDER_OF: dict[str, str] = {
    get_topic(Review.Submitted): "order_id",
    get_topic(Review): "order_id",
}
