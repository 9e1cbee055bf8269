"""Deterministic ids: a second attempt at the same thing collides instead of duplicating."""

from uuid import UUID, uuid5

NAMESPACE = UUID("6f1c3c55-2a55-4f0e-9d7e-0e5d2b1f4a10")


def order_id_for(payment_intent_id: str) -> UUID:
    return uuid5(NAMESPACE, "order:" + payment_intent_id)


def payment_collection_id_for(order_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"payment-collection:{order_id}")


def inventory_level_id_for(item_id: str, location_id: str) -> UUID:
    return uuid5(NAMESPACE, f"inventory-level:{item_id}:{location_id}")
