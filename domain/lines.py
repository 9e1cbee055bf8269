"""Line items and shipping as value objects, and their plain-data form in events."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TypedDict

from domain.errors import InvalidMoney
from domain.money import Money, tax_on
from domain.quantity import check_line_quantity


class LineData(TypedDict):
    id: str
    variant_id: str
    title: str
    quantity: int
    unit_price: int
    tax_rate_bp: int
    location_id: str


class ShippingData(TypedDict):
    option_id: str
    name: str
    amount: int
    tax_rate_bp: int


def _check_rate(rate_bp: int) -> None:
    if type(rate_bp) is not int or not 0 <= rate_bp <= 10_000:
        raise InvalidMoney("A tax rate is a whole number of basis points from 0 to 10000.")


@dataclass(frozen=True, slots=True)
class Line:
    """One variant at a price, a quantity and a tax rate, served from one stock location."""

    id: str
    variant_id: str
    title: str
    quantity: int
    unit_price: int
    tax_rate_bp: int
    location_id: str

    def check(self, currency: str) -> None:
        check_line_quantity(self.quantity)
        Money(self.unit_price, currency)
        if self.unit_price < 0:
            raise InvalidMoney("A unit price cannot be negative.")
        _check_rate(self.tax_rate_bp)

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity

    @property
    def tax(self) -> int:
        """Tax on the whole line, rounded once per line (see ``money.tax_on``)."""
        return tax_on(self.subtotal, self.tax_rate_bp)

    @property
    def total(self) -> int:
        return self.subtotal + self.tax

    def with_quantity(self, quantity: int) -> "Line":
        return replace(self, quantity=quantity)

    def to_data(self) -> LineData:
        return LineData(
            id=self.id,
            variant_id=self.variant_id,
            title=self.title,
            quantity=self.quantity,
            unit_price=self.unit_price,
            tax_rate_bp=self.tax_rate_bp,
            location_id=self.location_id,
        )

    @classmethod
    def from_data(cls, data: LineData) -> "Line":
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Shipping:
    """The chosen shipping option at its price; ``tax_rate_bp`` is 0 where shipping is untaxed."""

    option_id: str
    name: str
    amount: int
    tax_rate_bp: int

    def check(self, currency: str) -> None:
        Money(self.amount, currency)
        if self.amount < 0:
            raise InvalidMoney("A shipping price cannot be negative.")
        _check_rate(self.tax_rate_bp)

    @property
    def tax(self) -> int:
        return tax_on(self.amount, self.tax_rate_bp)

    def to_data(self) -> ShippingData:
        return ShippingData(
            option_id=self.option_id,
            name=self.name,
            amount=self.amount,
            tax_rate_bp=self.tax_rate_bp,
        )

    @classmethod
    def from_data(cls, data: ShippingData) -> "Shipping":
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Totals:
    """What a customer pays, in minor units: lines + shipping + tax (tax rounded per line)."""

    subtotal: int
    shipping_total: int
    tax_total: int

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping_total + self.tax_total


def totals_of(lines: Iterable[Line], shipping: Shipping | None) -> Totals:
    """The one rule for totals, shared by carts and orders."""
    lines = list(lines)
    line_tax = sum(line.tax for line in lines)
    return Totals(
        subtotal=sum(line.subtotal for line in lines),
        shipping_total=shipping.amount if shipping else 0,
        tax_total=line_tax + (shipping.tax if shipping else 0),
    )
