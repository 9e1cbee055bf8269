"""The order's access token goes out in one answer only (issue #18, finding 13)."""

from domain.order import Order
from tests.unit.domain.builders import NOW, later, place_order


def test_the_first_hand_out_is_recorded_and_a_second_is_refused() -> None:
    order = place_order()
    assert order.hand_out_token(to="storefront", now=NOW) is True
    assert order.hand_out_token(to="storefront", now=later(minutes=1)) is False
    handed = [e for e in order.collect_events() if isinstance(e, Order.AccessTokenHandedOut)]
    assert len(handed) == 1 and handed[0].handed_to == "storefront"
    assert order.token_handed_out


def test_an_order_placed_without_handing_out_has_not_handed_its_token_out() -> None:
    assert place_order().token_handed_out is False
