"""Major units at the Medusa edge: exact for every currency exponent, totals add up."""

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.lines import Line, Shipping
from domain.money import CURRENCY_EXPONENTS, MAX_AMOUNT
from infra.medusa.amounts import from_json, major, to_json
from infra.medusa.shapes_checkout import totals_out

# One currency per exponent the ledger knows (0, 2, 3), and every currency too.
BY_EXPONENT = {places: code for code, places in sorted(CURRENCY_EXPONENTS.items())}
currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
amounts = st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)


def through_json(value: object) -> object:
    """What a storefront reads: the number as JSON carries it."""
    return json.loads(json.dumps(value))


def test_every_exponent_of_the_ledger_is_covered() -> None:
    assert sorted(BY_EXPONENT) == [0, 2, 3]


@given(amounts, currencies)
def test_minor_to_major_to_minor_is_the_identity(amount: int, currency: str) -> None:
    number = through_json(to_json(amount, currency))
    assert isinstance(number, int | float)
    assert from_json(number, currency) == amount


@given(amounts, currencies)
def test_the_json_number_is_exactly_the_decimal_amount(amount: int, currency: str) -> None:
    places = CURRENCY_EXPONENTS[currency]
    text = json.dumps(to_json(amount, currency))
    assert Decimal(text) == Decimal(amount).scaleb(-places)


def test_examples_per_exponent() -> None:
    assert to_json(2550, "eur") == 25.5
    assert to_json(1999, "eur") == 19.99
    assert to_json(2500, "eur") == 25
    assert to_json(1000, "jpy") == 1000
    assert to_json(1005, "kwd") == 1.005
    assert json.dumps(to_json(5997, "eur")) == "59.97"  # not 3 * 19.99 in floats


lines_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=10**9),  # unit price
        st.integers(min_value=1, max_value=1000),  # quantity
        st.integers(min_value=0, max_value=10_000),  # tax rate, basis points
    ),
    max_size=20,
)


@given(
    lines_strategy,
    st.integers(min_value=0, max_value=10**7),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(sorted(BY_EXPONENT.values())),
)
def test_totals_add_up_in_major_units_exactly_as_in_minor_units(
    raw_lines: list[tuple[int, int, int]], shipping_amount: int, shipping_rate: int, currency: str
) -> None:
    lines = [
        Line(f"l{i}", f"v{i}", "Thing", quantity, price, rate, "")
        for i, (price, quantity, rate) in enumerate(raw_lines)
    ]
    shipping = Shipping("so", "Standard", shipping_amount, shipping_rate)
    out = {
        name: Decimal(json.dumps(value))
        for name, value in totals_out(lines, shipping, currency).items()
    }

    assert out["item_subtotal"] == sum(
        (major(line.subtotal, currency) for line in lines), Decimal(0)
    )
    assert out["item_tax_total"] == sum((major(line.tax, currency) for line in lines), Decimal(0))
    assert out["item_total"] == out["item_subtotal"] + out["item_tax_total"]
    assert out["shipping_total"] == out["shipping_subtotal"] + out["shipping_tax_total"]
    assert out["subtotal"] == out["item_subtotal"] + out["shipping_subtotal"]
    assert out["tax_total"] == out["item_tax_total"] + out["shipping_tax_total"]
    assert out["total"] == out["subtotal"] + out["tax_total"]
    assert out["total"] == out["item_total"] + out["shipping_total"]
    minor_total = sum(line.total for line in lines) + shipping_amount + shipping.tax
    assert (
        from_json(json.loads(json.dumps(to_json(minor_total, currency))), currency) == minor_total
    )
