"""``/store/carts``: the storefront's cart and checkout commands."""

from uuid import UUID

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from commands import carts, checkout
from commands.api.deps import ServicesDep, tell_position
from commands.api.schemas import (
    AddLine,
    CartOut,
    ChangeLine,
    ChooseShipping,
    CompletedOut,
    CreateCart,
    NoFields,
    PaymentSessionOut,
)

router = APIRouter(prefix="/store/carts", tags=["store: carts"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_cart(body: CreateCart, services: ServicesDep, response: Response) -> CartOut:
    result = carts.create_cart(
        services,
        region_id=body.region_id,
        sales_channel_id=body.sales_channel_id,
        email=body.email,
        shipping_address=body.shipping_address.model_dump() if body.shipping_address else None,
    )
    tell_position(response, result.position)
    return CartOut.of(result.priced)


@router.get("/{cart_id}")
def get_cart(cart_id: UUID, services: ServicesDep) -> CartOut:
    return CartOut.of(carts.get_cart(services, cart_id))


@router.post("/{cart_id}/line-items")
def add_line(cart_id: UUID, body: AddLine, services: ServicesDep, response: Response) -> CartOut:
    result = carts.add_line(services, cart_id, variant_id=body.variant_id, quantity=body.quantity)
    tell_position(response, result.position)
    return CartOut.of(result.priced)


@router.post("/{cart_id}/line-items/{line_id}")
def change_line(
    cart_id: UUID, line_id: str, body: ChangeLine, services: ServicesDep, response: Response
) -> CartOut:
    result = carts.change_line(services, cart_id, line_id, quantity=body.quantity)
    tell_position(response, result.position)
    return CartOut.of(result.priced)


@router.post("/{cart_id}/shipping-method")
def choose_shipping(
    cart_id: UUID, body: ChooseShipping, services: ServicesDep, response: Response
) -> CartOut:
    result = carts.choose_shipping(services, cart_id, shipping_option_id=body.shipping_option_id)
    tell_position(response, result.position)
    return CartOut.of(result.priced)


@router.post("/{cart_id}/payment-session")
def start_payment_session(
    cart_id: UUID, services: ServicesDep, response: Response, _body: NoFields | None = None
) -> PaymentSessionOut:
    session = checkout.start_payment_session(services, cart_id)
    tell_position(response, session.position)
    return PaymentSessionOut(
        payment_intent_id=session.payment_intent_id,
        client_secret=session.client_secret,
        amount=session.amount,
        currency=session.currency,
    )


@router.post("/{cart_id}/complete")
async def complete_cart(
    cart_id: UUID, services: ServicesDep, response: Response, _body: NoFields | None = None
) -> CompletedOut:
    # The checkout blocks on Stripe, Redis and PostgreSQL: it runs in a request thread,
    # the answer is built back on the event loop. As a sync endpoint it took two hops to
    # the thread pool and back (the endpoint, then the answer's validation): one is enough.
    placed = await run_in_threadpool(checkout.complete_cart, services, cart_id)
    tell_position(response, placed.position)
    return CompletedOut(
        order_id=str(placed.order_id), access_token=placed.access_token, status=placed.status
    )
