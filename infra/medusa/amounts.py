"""Amounts on the Medusa surface: major units as JSON numbers, converted exactly.

The ledger keeps integer minor units (``2550`` EUR cents); Medusa speaks major units
(``25.5``). The conversion is integer and ``Decimal`` arithmetic only. What goes into
the JSON is the exact decimal: a whole amount as an ``int``, any other as the float
whose shortest text (``repr``, what ``json.dumps`` writes) *is* that decimal. That
holds for every decimal of at most 15 significant digits, and an amount in range
(``MAX_AMOUNT`` = 10^15 minor units) has at most 15 once it has a fraction: the
property test in ``tests/unit/medusa/test_amounts.py`` checks it.
"""

from decimal import Decimal

from domain.money import Money

JsonAmount = int | float


def major(amount: int, currency: str) -> Decimal:
    """``amount`` minor units of ``currency`` as an exact Decimal of major units."""
    return Decimal(Money(amount, currency).to_major())


def to_json(amount: int, currency: str) -> JsonAmount:
    """The JSON number for ``amount`` minor units: ``2550`` EUR → ``25.5``, ``1000`` JPY → ``1000``."""
    value = major(amount, currency)
    if value == value.to_integral_value():
        return int(value)
    number = float(value)  # the text of this float is exactly ``value`` (see above)
    if Decimal(repr(number)) != value:  # cannot happen in range; refuse rather than round
        raise ValueError(f"{value} has no exact JSON number")
    return number


def from_json(number: JsonAmount, currency: str) -> int:
    """Minor units for a JSON number of major units (exact, or ``InvalidMoney``)."""
    return Money.from_major(
        repr(number) if isinstance(number, float) else str(number), currency
    ).amount
