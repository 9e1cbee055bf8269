"""Payment providers, payment collections and sessions: the cart's Stripe PaymentIntent.

A cart has one payment collection (its id follows from the cart's); a session with
``pp_stripe_stripe`` is the ledger's own payment session, whose ``data`` is the
PaymentIntent (with its ``client_secret``) a storefront confirms with Stripe.js.
"""

from typing import Any
from uuid import UUID

from fastapi import APIRouter

from commands import carts, checkout
from infra.medusa.bodies import CreatePaymentCollection, StartPaymentSession
from infra.medusa.deps import QueryDep, StoreDep, one
from infra.medusa.errors import MedusaError
from infra.medusa.shapes_checkout import (
    PROVIDER_ID,
    cart_of_payment_collection,
    payment_collection_out,
)

router = APIRouter(prefix="/store", tags=["medusa: payments"])


@router.get("/payment-providers")
def list_payment_providers(store: StoreDep, params: QueryDep) -> dict[str, Any]:
    region_id = one(params, "region_id")
    if region_id is None:
        raise MedusaError("invalid_data", "region_id is required")
    store.region(region_id)
    return {
        "payment_providers": [{"id": PROVIDER_ID, "is_enabled": True}],
        "count": 1,
        "offset": 0,
        "limit": 50,
    }


def _collection(store: StoreDep, cart_id: UUID) -> dict[str, Any]:
    store.cart(cart_id)
    priced = carts.get_cart(store.services, cart_id)
    cart = priced.cart
    intent = None
    if cart.payment_intent_id is not None and not cart.is_completed:
        intent = store.services.payments.retrieve_payment_intent(cart.payment_intent_id)
    return payment_collection_out(cart.id, priced.region.currency, priced.total, intent)


@router.post("/payment-collections")
def create_payment_collection(body: CreatePaymentCollection, store: StoreDep) -> dict[str, Any]:
    """The cart's payment collection (the same one however often it is asked for)."""
    try:
        cart_id = UUID(body.cart_id)
    except ValueError:
        raise MedusaError("not_found", f"Cart with id: {body.cart_id} was not found") from None
    return {"payment_collection": _collection(store, cart_id)}


@router.post("/payment-collections/{collection_id}/payment-sessions")
def start_payment_session(
    collection_id: str, body: StartPaymentSession, store: StoreDep
) -> dict[str, Any]:
    if body.provider_id != PROVIDER_ID:
        raise MedusaError(
            "invalid_data",
            f"Payment provider {body.provider_id} is not available; use {PROVIDER_ID}.",
        )
    cart_id = cart_of_payment_collection(collection_id)
    if cart_id is None:
        raise MedusaError("not_found", f"Payment collection with id: {collection_id} was not found")
    store.cart(cart_id)
    checkout.start_payment_session(store.services, cart_id)
    return {"payment_collection": _collection(store, cart_id)}
