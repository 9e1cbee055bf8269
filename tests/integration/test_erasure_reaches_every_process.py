"""An erasure in one process reaches what every other process holds in clear.

Given Ada's cart held for checkout by one process (as every save holds it), When
another process erases her, Then the first drops its copy (NOTIFY on the destroyed
keys) and reads her cart again from the store, sealed with a destroyed key: her
e-mail is gone from it; another customer's held cart is read again just as it was.
"""

from __future__ import annotations

import time
from typing import cast
from uuid import uuid4

import pytest

from domain.cart import Cart
from infra.container import build_container
from infra.pii.crypto import new_master_key_text
from infra.settings import Settings
from tests.databases import fresh_database
from tests.unit.domain.builders import NOW

pytestmark = [pytest.mark.integration]

ADA, BOB = "ada.erased@example.com", "bob.kept@example.org"
BOUND_SECONDS = 5.0


def a_cart(email: str) -> Cart:
    return Cart.start(
        cart_id=uuid4(),
        region_id="reg_eu",
        sales_channel_id="sc_web",
        currency="eur",
        email=email,
        now=NOW,
    )


def test_an_erasure_drops_her_cart_held_by_another_process(database_url: str) -> None:
    with fresh_database(database_url, "orderledger_erasure") as url:
        settings = Settings(database_url=url, redis_url=None, pii_master_key=new_master_key_text())
        checkout, dpo = build_container(settings), build_container(settings)
        try:
            assert checkout.erasure_listener is not None
            assert checkout.erasure_listener.ready.wait(BOUND_SECONDS)
            ada, bob = a_cart(ADA), a_cart(BOB)
            checkout.ledger.save_all(ada, bob)
            assert len(checkout.ledger.cache) == 2  # held for checkout, in clear
            assert cast(Cart, checkout.ledger.get_cached(ada.id)[ada.id]).email == ADA

            assert dpo.customers is not None
            assert dpo.customers.erase(ADA, requested_by="dpo")["erased"] is True

            deadline = time.monotonic() + BOUND_SECONDS
            while len(checkout.ledger.cache):
                assert time.monotonic() < deadline, "the erasure never reached the other process"
                time.sleep(0.01)
            held = checkout.ledger.get_cached(ada.id, bob.id)
            assert cast(Cart, held[ada.id]).email != ADA
            assert cast(Cart, held[bob.id]).email == BOB
        finally:
            dpo.close()
            checkout.close()
