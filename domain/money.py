"""Money as integer minor units plus a currency code. No float, no Decimal."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from domain.errors import CurrencyMismatch, InvalidMoney, UnknownCurrency

# ISO 4217 minor-unit exponents (as Stripe uses them for amounts).
CURRENCY_EXPONENTS: Final[dict[str, int]] = {
    **dict.fromkeys(
        [
            "aud",
            "brl",
            "cad",
            "chf",
            "cny",
            "czk",
            "dkk",
            "eur",
            "gbp",
            "hkd",
            "ils",
            "inr",
            "mxn",
            "nok",
            "nzd",
            "pln",
            "ron",
            "sek",
            "sgd",
            "thb",
            "try",
            "usd",
            "zar",
        ],
        2,
    ),
    **dict.fromkeys(
        [
            "bif",
            "clp",
            "djf",
            "gnf",
            "jpy",
            "kmf",
            "krw",
            "mga",
            "pyg",
            "rwf",
            "ugx",
            "vnd",
            "vuv",
            "xaf",
            "xof",
            "xpf",
        ],
        0,
    ),
    **dict.fromkeys(["bhd", "jod", "kwd", "omr", "tnd"], 3),
}

MAX_AMOUNT: Final = 10**15  # far above any shop's order, far below overflow anywhere

_MAJOR = re.compile(r"^(-?)([0-9]{1,18})(?:\.([0-9]{1,18}))?$", re.ASCII)


def exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit; raises ``UnknownCurrency``."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise UnknownCurrency(f"Unknown currency {currency!r}.") from None


@dataclass(frozen=True, slots=True)
class Money:
    """An integer amount of a currency's minor unit (``Money(2500, "eur")`` is 25.00 EUR)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise InvalidMoney(f"Amount must be an integer of minor units, got {self.amount!r}.")
        if abs(self.amount) > MAX_AMOUNT:
            raise InvalidMoney(f"Amount {self.amount} is out of range.")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_major(cls, text: str, currency: str) -> Money:
        """Parse ``"25.00"`` exactly; more decimals than the currency has are refused."""
        places = exponent(currency)
        match = _MAJOR.match(text.strip())
        if match is None:
            raise InvalidMoney(f"{text!r} is not a decimal amount.")
        sign, whole, fraction = match.groups()
        fraction = fraction or ""
        if len(fraction) > places:
            raise InvalidMoney(f"{text!r} has more than {places} decimals for {currency}.")
        amount = int(whole) * 10**places + int(fraction.ljust(places, "0") or "0")
        return cls(-amount if sign else amount, currency)

    def to_major(self) -> str:
        """The amount in major units as an exact decimal string (``"25.00"``, ``"2500"``)."""
        places = exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        whole, fraction = divmod(abs(self.amount), 10**places)
        if places == 0:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{fraction:0{places}d}"

    def __str__(self) -> str:
        return f"{self.to_major()} {self.currency.upper()}"

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"Cannot combine Money with {type(other).__name__}.")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def times(self, quantity: int) -> Money:
        if type(quantity) is not int:
            raise InvalidMoney("Quantities are whole numbers.")
        return Money(self.amount * quantity, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.amount >= other.amount


def tax_on(amount: int, rate_bp: int) -> int:
    """Tax on one line: ``amount * rate_bp / 10000`` rounded half up, in minor units.

    The rounding rule is per line (not per order): each line's tax is rounded on
    its own and the order's tax is the sum of the rounded lines. Amounts are never
    negative here, so half up and half away from zero agree.
    """
    if amount < 0 or rate_bp < 0:
        raise InvalidMoney("Tax is computed on non-negative amounts and rates.")
    return (amount * rate_bp * 2 + 10_000) // 20_000
