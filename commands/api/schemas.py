"""Request and response bodies of the command API (API.md's shapes)."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from commands.pricing import PricedCart

# Ids named in a request have the catalog's id shape; anything else cannot exist.
IdText = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
# Accept a wide range so the domain can answer "out of range" in its own words.
Quantity = Annotated[int, Field(strict=True, ge=-(10**12), le=10**12)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Printable text: no control characters (PostgreSQL's jsonb refuses NUL, and none belong here).
Text = r"^[^\x00-\x1f\x7f]*$"


class Address(Body):
    name: Annotated[str, Field(max_length=200, pattern=Text)] = ""
    line1: Annotated[str, Field(max_length=200, pattern=Text)] = ""
    line2: Annotated[str, Field(max_length=200, pattern=Text)] = ""
    city: Annotated[str, Field(max_length=100, pattern=Text)] = ""
    postal_code: Annotated[str, Field(max_length=20, pattern=Text)] = ""
    country: Annotated[str, Field(max_length=2, pattern=Text)] = ""


class NoFields(Body):
    """The body of a command that takes none: anything sent (say an amount) is refused."""


class CreateCart(Body):
    region_id: IdText
    sales_channel_id: IdText
    email: Annotated[str, Field(min_length=3, max_length=320)]
    shipping_address: Address | None = None


class AddLine(Body):
    variant_id: IdText
    quantity: Quantity


class ChangeLine(Body):
    quantity: Quantity


class ChooseShipping(Body):
    shipping_option_id: IdText


class CartLineOut(BaseModel):
    id: str
    variant_id: str
    title: str
    quantity: int
    unit_price: int
    subtotal: int
    tax_total: int
    total: int


class CartOut(BaseModel):
    id: str
    region_id: str
    sales_channel_id: str
    currency: str
    items: list[CartLineOut]
    shipping_option_id: str | None
    subtotal: int
    shipping_total: int
    tax_total: int
    total: int
    payment_intent_id: str | None
    completed_order_id: str | None

    @classmethod
    def of(cls, priced: PricedCart) -> "CartOut":
        cart = priced.cart
        return cls(
            id=str(cart.id),
            region_id=cart.region_id,
            sales_channel_id=cart.sales_channel_id,
            currency=priced.region.currency,
            items=[
                CartLineOut(
                    id=line.id,
                    variant_id=line.variant_id,
                    title=line.title,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    subtotal=line.subtotal,
                    tax_total=line.tax,
                    total=line.total,
                )
                for line in priced.lines
            ],
            shipping_option_id=cart.shipping_option_id,
            subtotal=priced.totals.subtotal,
            shipping_total=priced.totals.shipping_total,
            tax_total=priced.totals.tax_total,
            total=priced.total,
            payment_intent_id=cart.payment_intent_id,
            completed_order_id=cart.completed_order_id,
        )


class PaymentSessionOut(BaseModel):
    payment_intent_id: str
    client_secret: str | None
    amount: int
    currency: str


class CompletedOut(BaseModel):
    order_id: str
    # Only in the first answer of complete (replays of it with the same Idempotency-Key too).
    access_token: str | None
    status: str
