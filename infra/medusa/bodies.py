"""Request bodies of the Medusa surface: strict, as Medusa's validators are (unknown → 400)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Text = r"^[^\x00-\x1f\x7f]*$"
Short = Annotated[str, Field(max_length=200, pattern=Text)]
Id = Annotated[str, Field(min_length=1, max_length=100, pattern=Text)]
Metadata = Annotated[dict[str, Any], Field(max_length=50)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Address(Body):
    first_name: Short | None = None
    last_name: Short | None = None
    company: Short | None = None
    address_1: Short | None = None
    address_2: Short | None = None
    city: Short | None = None
    postal_code: Annotated[str, Field(max_length=20, pattern=Text)] | None = None
    province: Short | None = None
    country_code: Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")] | None = None
    phone: Annotated[str, Field(max_length=40, pattern=Text)] | None = None
    metadata: Metadata | None = None

    def stored(self) -> dict[str, str]:
        """What the ledger keeps: the set fields, country in lowercase."""
        fields = self.model_dump(exclude={"metadata"}, exclude_none=True)
        if "country_code" in fields:
            fields["country_code"] = fields["country_code"].lower()
        return fields


class NewLine(Body):
    variant_id: Id
    quantity: Annotated[int, Field(gt=0, le=10_000, strict=True)]
    metadata: Metadata | None = None


class CreateCart(Body):
    region_id: Id | None = None
    sales_channel_id: Id | None = None
    currency_code: Annotated[str, Field(max_length=3)] | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    items: Annotated[list[NewLine], Field(max_length=100)] | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    promo_codes: Annotated[list[str], Field(max_length=20)] | None = None
    locale: Annotated[str, Field(max_length=20)] | None = None
    metadata: Metadata | None = None


class UpdateCart(Body):
    region_id: Id | None = None
    email: Annotated[str, Field(max_length=320)] | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    promo_codes: Annotated[list[str], Field(max_length=20)] | None = None
    locale: Annotated[str, Field(max_length=20)] | None = None
    sales_channel_id: Id | None = None
    metadata: Metadata | None = None


class ChangeLine(Body):
    quantity: Annotated[int, Field(ge=0, le=10_000, strict=True)]
    metadata: Metadata | None = None


class AddShippingMethod(Body):
    option_id: Id
    data: Metadata | None = None


class CreatePaymentCollection(Body):
    cart_id: Id


class StartPaymentSession(Body):
    provider_id: Id
    data: Metadata | None = None
    context: Metadata | None = None
