"""Finding 6: the shopper may not pick a region that does not serve the address, nor an
internal sales channel.

On main a JPY cart at 10 % tax shipped to an NL address completed, and a shopper named
an internal channel and reserved its B2B stock. Regions may now list ``countries`` and
channels may be ``public: false`` (both optional: existing catalogs import unchanged).
"""

from __future__ import annotations

import pytest

from commands.catalog import SalesChannel
from commands.sales_channels import ANONYMOUS, ChannelAccess, may_use_sales_channel
from tests.security.domain_shop import (
    Probe,
    cart_of,
    choose_shipping,
    new_cart,
    open_store,
)

pytestmark = pytest.mark.e2e

NL = {"name": "Ada", "line1": "Damrak 1", "city": "Amsterdam", "country": "NL"}
JP = {"name": "Ada", "line1": "1-1 Chiyoda", "city": "Tokyo", "country": "JP"}


def test_a_japanese_region_refuses_a_dutch_address(probe: Probe) -> None:
    japan = open_store(probe.server, countries=["jp"], currency="jpy")
    with probe.server.client() as client:
        refused = new_cart(client, japan, address=NL)
        accepted = new_cart(client, japan, address=JP)
        lower_case = new_cart(client, japan, address={**JP, "country": "jp"})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "ShippingAddressOutsideRegion"
    assert accepted.status_code == 201, accepted.text
    assert lower_case.status_code == 201, lower_case.text


def test_a_region_that_lists_countries_needs_an_address_before_payment(probe: Probe) -> None:
    europe = open_store(probe.server, countries=["NL", "DE"])
    with probe.server.client() as client:
        cart_id = cart_of(client, europe, europe.lamp)
        choose_shipping(client, cart_id, europe)
        refused = client.post(f"/store/carts/{cart_id}/payment-session")
        with_address = cart_of(client, europe, europe.lamp, address=NL)
        choose_shipping(client, with_address, europe)
        accepted = client.post(f"/store/carts/{with_address}/payment-session")
    assert refused.status_code == 409 and refused.json()["error"] == "ShippingAddressRequired"
    assert accepted.status_code == 200, accepted.text


def test_a_region_without_countries_serves_any_address_as_before(probe: Probe) -> None:
    anywhere = open_store(probe.server)
    with probe.server.client() as client:
        assert new_cart(client, anywhere, address=JP).status_code == 201
        assert new_cart(client, anywhere, address=NL).status_code == 201


def test_an_internal_channel_cannot_be_named_in_the_body(probe: Probe) -> None:
    store = open_store(probe.server, internal_channel=True)
    with probe.server.client() as client:
        internal = new_cart(client, store, channel=store.internal_channel)
        unknown = new_cart(client, store, channel=f"nothing-{store.suffix}")
        public = new_cart(client, store)
    # Answered exactly like a channel that does not exist: nothing tells it is there.
    assert internal.status_code == unknown.status_code == 400, internal.text
    assert internal.json()["error"] == unknown.json()["error"] == "UnknownSalesChannel"
    assert public.status_code == 201


def test_the_one_seam_a_publishable_key_will_use_opens_a_channel_it_names() -> None:
    internal = SalesChannel("b2b", ("berlin",), public=False)
    assert not may_use_sales_channel(internal, ANONYMOUS)
    assert not may_use_sales_channel(internal, ChannelAccess(unlocked=frozenset({"web"})))
    assert may_use_sales_channel(internal, ChannelAccess(unlocked=frozenset({"b2b"})))
    assert may_use_sales_channel(SalesChannel("web", ("berlin",)), ANONYMOUS)
