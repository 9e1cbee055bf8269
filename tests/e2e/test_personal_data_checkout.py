"""A storefront customer, sealed from checkout on, erased once their order is captured.

Through the HTTP API, with the official stripe SDK against the local emulator and the
worker capturing when the grace period ends.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from infra.pii.crypto import new_master_key_text
from tests.e2e.conftest import open_shop, server_of_its_own
from tests.e2e.console_flow import placed_order, wait_for_order

pytestmark = pytest.mark.e2e

EMAIL = "ada@example.com"  # what the shared checkout flow's carts carry


def stored_states(server: Any) -> bytes:
    with server.container.pool.connection() as conn:
        rows = conn.execute(
            "SELECT state FROM public.orderledger_events UNION ALL"
            " SELECT state FROM public.orderledger_snapshots"
        ).fetchall()
    return b"".join(bytes(r[0]) for r in rows)


def test_a_checkout_is_sealed_and_the_customer_erased_after_capture(
    database_url: str, redis_url: str, stripe_emulator: Any
) -> None:
    with server_of_its_own(
        database_url,
        redis_url,
        stripe_emulator,
        capture_grace_seconds=2,
        pii_master_key=new_master_key_text(),
    ) as server:
        # Given an order placed through the storefront (cart, PaymentIntent, complete)
        order = placed_order(server, open_shop(server))
        order_id = order["order_id"]
        view = wait_for_order(server, order_id)
        assert view["email"] == EMAIL
        # Then the event store holds her e-mail sealed only
        assert EMAIL.encode() not in stored_states(server)
        with server.admin() as admin:
            # And while the order awaits capture she cannot be erased yet
            refused = admin.post("/admin/customers/erase", json={"email": EMAIL})
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"] == "NotErasableYet"
            # When the worker has captured it
            deadline = time.monotonic() + 30
            while wait_for_order(server, order_id)["status"] != "captured":
                assert time.monotonic() < deadline, "never captured"
                server.container.read_models.wait_for(
                    server.container.ledger.head + 1, ["admin_orders"], 0.5
                )
            # Then she is erased, and the admin order shows [erased] beside the same totals
            erased = admin.post("/admin/customers/erase", json={"email": EMAIL})
            assert erased.status_code == 200, erased.text
            assert erased.json()["orders"] == [order_id]
            after = admin.get(f"/admin/orders/{order_id}").json()
            assert after["email"] == "[erased]"
            assert after["total"] == view["total"] and after["status"] == "captured"
            history = admin.get(f"/admin/orders/{order_id}/history")
            assert history.status_code == 200, history.text
            assert EMAIL not in history.text
        assert EMAIL.encode() not in stored_states(server)
