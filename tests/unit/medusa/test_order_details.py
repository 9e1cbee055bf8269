"""A Medusa order shows its personal data only in the hour after placing.

Given an order whose id anyone can derive from its PaymentIntent id, When the Medusa
surface shows it within the hour after placing, Then the e-mail and shipping address
are there (the storefront's confirmation page); When later, Then neither is, but the
address's country, and nothing else of the order changes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from infra.medusa.orders import DETAILS_SHOWN, shows_details
from infra.medusa.shapes_checkout import order_out
from projections.order_fold import fold_order
from tests.unit.domain.builders import NOW, place_order


def a_row() -> dict[str, object]:
    order = place_order()
    [placed] = order.collect_events()
    row = fold_order(cast(Any, placed), None)
    assert row is not None
    row["shipping_address"] = {"first_name": "Ada", "address_1": "1 Main St", "country_code": "gb"}
    return row


def test_within_the_hour_the_order_shows_who_and_where() -> None:
    row = a_row()
    assert shows_details(NOW, NOW + DETAILS_SHOWN - timedelta(seconds=1))
    order = order_out(row, personal=True)
    assert order["email"] == "ada@example.com"
    assert order["shipping_address"]["address_1"] == "1 Main St"


def test_later_the_order_shows_neither_but_the_country() -> None:
    row = a_row()
    assert not shows_details(NOW, NOW + DETAILS_SHOWN)
    shown, hidden = order_out(row, personal=True), order_out(row, personal=False)
    assert hidden["email"] is None
    assert hidden["shipping_address"]["country_code"] == "gb"
    assert hidden["shipping_address"]["first_name"] is None
    assert hidden["shipping_address"]["address_1"] is None
    for field in set(shown) - {"email", "shipping_address"}:
        assert hidden[field] == shown[field], field
