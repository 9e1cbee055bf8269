"""Quantities of a variant on a line: whole, positive, and sane."""

from typing import Final

from domain.errors import InvalidQuantity

MAX_LINE_QUANTITY: Final = 999


def check_line_quantity(quantity: int) -> int:
    """Return ``quantity`` if it is a whole number in 1..999, else raise ``InvalidQuantity``."""
    if type(quantity) is not int or not 1 <= quantity <= MAX_LINE_QUANTITY:
        raise InvalidQuantity(f"Quantity must be a whole number from 1 to {MAX_LINE_QUANTITY}.")
    return quantity
