"""Money: integer minor units of a known currency, exact parsing, half-up tax."""

import math
from collections.abc import Callable
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import CurrencyMismatch, InvalidMoney, UnknownCurrency
from domain.money import CURRENCY_EXPONENTS, MAX_AMOUNT, Money, exponent, tax_on

currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
amounts = st.integers(min_value=-MAX_AMOUNT, max_value=MAX_AMOUNT)


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize("amount", [True, False, 1.0, 2.5, "100", None, Fraction(1)])
def test_an_amount_must_be_an_int_of_minor_units(amount: object) -> None:
    with pytest.raises(InvalidMoney):
        Money(amount, "eur")  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [MAX_AMOUNT, -MAX_AMOUNT, 0])
def test_amounts_up_to_the_limit_are_accepted(amount: int) -> None:
    assert Money(amount, "eur").amount == amount


@pytest.mark.parametrize("amount", [MAX_AMOUNT + 1, -MAX_AMOUNT - 1, 10**30])
def test_amounts_beyond_the_limit_are_refused(amount: int) -> None:
    with pytest.raises(InvalidMoney):
        Money(amount, "eur")


@pytest.mark.parametrize("currency", ["xyz", "EUR", "", "euro", "Eur"])
def test_an_unknown_currency_is_refused(currency: str) -> None:
    with pytest.raises(UnknownCurrency):
        Money(100, currency)


def test_an_unknown_currency_is_a_kind_of_invalid_money() -> None:
    with pytest.raises(InvalidMoney):
        exponent("xxx")


def test_currency_exponents_follow_iso_4217() -> None:
    assert (exponent("jpy"), exponent("eur"), exponent("usd"), exponent("kwd")) == (0, 2, 2, 3)


# --- arithmetic and comparison --------------------------------------------------------


def test_money_of_one_currency_adds_and_subtracts() -> None:
    assert Money(250, "eur") + Money(100, "eur") == Money(350, "eur")
    assert Money(250, "eur") - Money(300, "eur") == Money(-50, "eur")
    assert -Money(250, "eur") == Money(-250, "eur")


def test_money_times_a_whole_quantity() -> None:
    assert Money(250, "eur").times(3) == Money(750, "eur")


@pytest.mark.parametrize("quantity", [1.5, True, "2"])
def test_money_times_anything_but_an_int_is_refused(quantity: object) -> None:
    with pytest.raises(InvalidMoney):
        Money(250, "eur").times(quantity)  # type: ignore[arg-type]


def test_money_times_a_quantity_that_leaves_the_range_is_refused() -> None:
    with pytest.raises(InvalidMoney):
        Money(MAX_AMOUNT, "eur").times(2)


def test_a_sum_that_leaves_the_range_is_refused() -> None:
    with pytest.raises(InvalidMoney):
        Money(MAX_AMOUNT, "eur") + Money(1, "eur")


@pytest.mark.parametrize(
    "operation",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a <= b,
        lambda a, b: a > b,
        lambda a, b: a >= b,
    ],
)
def test_arithmetic_and_ordering_refuse_mixed_currencies(
    operation: Callable[[Money, Money], object],
) -> None:
    with pytest.raises(CurrencyMismatch):
        operation(Money(100, "eur"), Money(100, "usd"))


@pytest.mark.parametrize("other", [100, 1.0, None])
def test_money_does_not_combine_with_plain_numbers(other: object) -> None:
    with pytest.raises(TypeError):
        Money(100, "eur") + other
    with pytest.raises(TypeError):
        _ = Money(100, "eur") < other


def test_money_compares_by_amount_within_a_currency() -> None:
    small, large = Money(100, "eur"), Money(200, "eur")
    assert small < large
    assert small <= large
    assert small <= Money(100, "eur")
    assert large > small
    assert large >= small
    assert not small > large
    assert sorted([large, small]) == [small, large]


def test_equal_amounts_of_different_currencies_are_not_equal() -> None:
    assert Money(100, "eur") != Money(100, "usd")
    assert Money(100, "eur") == Money(100, "eur")
    assert Money.zero("jpy") == Money(0, "jpy")


# --- major units ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency", "amount"),
    [
        ("2500", "jpy", 2500),
        ("0", "jpy", 0),
        ("-7", "jpy", -7),
        ("25.00", "eur", 2500),
        ("25", "eur", 2500),
        ("25.5", "eur", 2550),
        ("0.01", "eur", 1),
        ("-0.05", "eur", -5),
        (" 19.99 ", "usd", 1999),
        ("1.234", "kwd", 1234),
        ("1.2", "kwd", 1200),
        ("0.007", "kwd", 7),
        ("-1.5", "kwd", -1500),
        ("10000000000000.00", "eur", MAX_AMOUNT),
    ],
)
def test_major_units_parse_exactly(text: str, currency: str, amount: int) -> None:
    assert Money.from_major(text, currency) == Money(amount, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [("25.0", "jpy"), ("25.001", "eur"), ("0.005", "usd"), ("1.2345", "kwd")],
)
def test_more_decimals_than_the_currency_has_are_refused(text: str, currency: str) -> None:
    with pytest.raises(InvalidMoney, match="decimals"):
        Money.from_major(text, currency)


@pytest.mark.parametrize(
    "text", ["", "abc", "1.", ".5", "1,00", "+1", "1e3", "--1", "1.0.0", "0x10", "1 000"]
)
def test_text_that_is_not_a_decimal_amount_is_refused(text: str) -> None:
    with pytest.raises(InvalidMoney):
        Money.from_major(text, "eur")


def test_major_units_beyond_the_range_are_refused() -> None:
    with pytest.raises(InvalidMoney):
        Money.from_major("10000000000000.01", "eur")


def test_parsing_major_units_in_an_unknown_currency_is_refused() -> None:
    with pytest.raises(UnknownCurrency):
        Money.from_major("1.00", "xyz")


def test_absurdly_long_text_is_refused_as_invalid_money() -> None:
    with pytest.raises(InvalidMoney):
        Money.from_major("9" * 5000, "eur")


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(2500, "jpy"), "2500"),
        (Money(-7, "jpy"), "-7"),
        (Money(2500, "eur"), "25.00"),
        (Money(5, "eur"), "0.05"),
        (Money(-5, "eur"), "-0.05"),
        (Money(-2550, "eur"), "-25.50"),
        (Money(1234, "kwd"), "1.234"),
        (Money(7, "kwd"), "0.007"),
        (Money(0, "kwd"), "0.000"),
    ],
)
def test_major_units_print_exactly(money: Money, text: str) -> None:
    assert money.to_major() == text


def test_money_prints_as_major_units_and_code() -> None:
    assert str(Money(2500, "eur")) == "25.00 EUR"
    assert str(Money(500, "jpy")) == "500 JPY"


# --- tax ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rate_bp", "tax"),
    [
        (2500, 2000, 500),  # exact
        (1, 5000, 1),  # 0.5 rounds up
        (3, 1667, 1),  # 0.5001
        (3, 1666, 0),  # 0.4998
        (1, 4999, 0),  # 0.4999
        (15, 1000, 2),  # 1.5 → 2
        (25, 1000, 3),  # 2.5 → 3: half up, not half to even
        (1999, 2000, 400),  # 399.8
        (999, 700, 70),  # 69.93
        (1000, 10_000, 1000),  # 100 %
        (1234, 0, 0),
        (0, 2000, 0),
        (MAX_AMOUNT, 10_000, MAX_AMOUNT),
    ],
)
def test_tax_is_the_rate_of_the_amount_rounded_half_up(amount: int, rate_bp: int, tax: int) -> None:
    assert tax_on(amount, rate_bp) == tax


@pytest.mark.parametrize(("amount", "rate_bp"), [(-1, 2000), (100, -1)])
def test_tax_on_negative_amounts_or_rates_is_refused(amount: int, rate_bp: int) -> None:
    with pytest.raises(InvalidMoney):
        tax_on(amount, rate_bp)


# --- properties -----------------------------------------------------------------------


@given(currency=currencies, amount=amounts)
def test_major_units_round_trip_for_every_currency(currency: str, amount: int) -> None:
    money = Money(amount, currency)
    text = money.to_major()
    assert Money.from_major(text, currency) == money
    places = CURRENCY_EXPONENTS[currency]
    assert len(text.partition(".")[2]) == places


third = st.integers(min_value=-(MAX_AMOUNT // 3), max_value=MAX_AMOUNT // 3)


@given(currency=currencies, a=third, b=third, c=third)
def test_addition_is_associative_and_commutative(currency: str, a: int, b: int, c: int) -> None:
    x, y, z = Money(a, currency), Money(b, currency), Money(c, currency)
    assert (x + y) + z == x + (y + z)
    assert x + y == y + x
    assert x + Money.zero(currency) == x


half = st.integers(min_value=-(MAX_AMOUNT // 2), max_value=MAX_AMOUNT // 2)


@given(currency=currencies, a=half, b=half)
def test_adding_then_subtracting_the_same_money_changes_nothing(
    currency: str, a: int, b: int
) -> None:
    x, y = Money(a, currency), Money(b, currency)
    assert x + y - y == x
    assert x - y == x + -y


@given(
    amount=st.integers(min_value=0, max_value=MAX_AMOUNT),
    rate_bp=st.integers(min_value=0, max_value=10_000),
)
def test_tax_equals_the_exact_rational_rounded_half_up(amount: int, rate_bp: int) -> None:
    exact = Fraction(amount * rate_bp, 10_000)
    assert tax_on(amount, rate_bp) == math.floor(exact + Fraction(1, 2))
