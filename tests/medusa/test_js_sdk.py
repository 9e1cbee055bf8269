"""The official ``@medusajs/js-sdk`` checks out against orderledger, driven under Node.

The Node side (``checkout.test.mjs``) runs the storefront's calls; this side starts the
server (PostgreSQL, Redis, localstripe, the worker), makes the catalog and keys, and
afterwards checks what only the ledger can tell: the SDK's order is captured after the
grace period, the declined and the stock-out payments placed nothing, and
``orderledger audit verify`` passes.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.ids import inventory_level_id_for, order_id_for, payment_collection_id_for
from domain.inventory_level import InventoryLevel
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.container import Container
from tests.e2e.conftest import LiveServer, import_catalog
from tests.medusa.conftest import HERE
from tests.processes import orderledger_command

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def catalog(s: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The test shop: EUR and JPY regions, a channel for the key and one it does not have."""
    ids = {
        "region": f"eu-{s}",
        "jpy_region": f"jp-{s}",
        "channel": f"web-{s}",
        "other_channel": f"pos-{s}",
        "location": f"berlin-{s}",
        "product": f"tee-{s}",
        "variant": f"tee-m-{s}",
        "other_product": f"mug-{s}",
        "other_variant": f"mug-w-{s}",
        "scarce_variant": f"mug-b-{s}",
        "hidden_product": f"till-{s}",
    }
    shop = {
        "regions": [
            {"id": ids["region"], "currency": "eur", "tax_rate_bp": 2000, "tax_shipping": True},
            {
                "id": ids["jpy_region"],
                "currency": "jpy",
                "tax_rate_bp": 1000,
                "tax_shipping": False,
            },
        ],
        "stock_locations": [
            {"id": ids["location"], "name": "Berlin"},
            {"id": f"shop-{s}", "name": "The shop's till"},
        ],
        "sales_channels": [
            {"id": ids["channel"], "stock_location_ids": [ids["location"]]},
            {"id": ids["other_channel"], "stock_location_ids": [f"shop-{s}"]},
        ],
        "shipping_options": [
            {"id": f"std-{s}", "region_id": ids["region"], "name": "Standard", "amount": 495},
            {"id": f"jp-std-{s}", "region_id": ids["jpy_region"], "name": "Yamato", "amount": 500},
        ],
        "products": [
            {
                "id": ids["product"],
                "title": "T-shirt",
                "variants": [
                    {
                        "id": ids["variant"],
                        "sku": f"TEE-M-{s}",
                        "title": "M",
                        "prices": {"eur": 1999, "jpy": 1980},
                    }
                ],
            },
            {
                "id": ids["other_product"],
                "title": "Mug",
                "variants": [
                    {
                        "id": ids["other_variant"],
                        "sku": f"MUG-W-{s}",
                        "title": "White",
                        "prices": {"eur": 500},
                    },
                    {
                        "id": ids["scarce_variant"],
                        "sku": f"MUG-B-{s}",
                        "title": "Black",
                        "prices": {"eur": 700},
                    },
                ],
            },
            {
                "id": ids["hidden_product"],
                "title": "Till receipt roll",
                "variants": [
                    {"id": f"roll-{s}", "sku": f"ROLL-{s}", "title": "Roll", "prices": {"eur": 100}}
                ],
            },
        ],
        "inventory": [
            {"variant_id": ids["variant"], "location_id": ids["location"], "stocked_quantity": 10},
            {
                "variant_id": ids["other_variant"],
                "location_id": ids["location"],
                "stocked_quantity": 50,
            },
            {
                "variant_id": ids["scarce_variant"],
                "location_id": ids["location"],
                "stocked_quantity": 1,
            },
            {"variant_id": f"roll-{s}", "location_id": f"shop-{s}", "stocked_quantity": 5},
        ],
    }
    return shop, ids


def cli(container: Container, *args: str) -> subprocess.CompletedProcess[str]:
    """``orderledger ARGS`` against the server's database."""
    return subprocess.run(
        orderledger_command(*args),
        env={**os.environ, "DATABASE_URL": container.database_url, "REDIS_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )


def publishable_key(container: Container, name: str, channel: str) -> str:
    """What a shop runs: ``orderledger publishable-key create``; the key is the last line."""
    made = cli(container, "publishable-key", "create", name, "--sales-channel", channel)
    assert made.returncode == 0, made.stdout + made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("pk_")
    return key


def wait_until(condition: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        threading.Event().wait(0.05)  # polls the ledger's own state, bounded
    raise AssertionError(f"condition not met within {timeout} s")


def test_the_js_sdk_checks_out_and_its_order_is_captured_and_audited(
    medusa_server: LiveServer, node: str, tmp_path: Path
) -> None:
    server = medusa_server
    shop, ids = catalog(uuid.uuid4().hex[:8])
    import_catalog(server, shop)
    container = server.container
    assert container.read_models.wait_for(container.ledger.head, ["inventory_levels"], 10.0)
    key = publishable_key(container, "storefront", ids["channel"])
    revoked = publishable_key(container, "old storefront", ids["channel"])
    revoked_id = revoked.split("_")[1]
    assert cli(container, "publishable-key", "revoke", revoked_id).returncode == 0
    out_file = tmp_path / "out.json"

    env = {
        **os.environ,
        "MEDUSA_URL": f"{server.url}/medusa",
        "PK": key,
        "REVOKED_PK": revoked,
        "STRIPE_API_BASE": server.emulator_url,
        "STRIPE_API_KEY": "sk_test_e2e",
        "ADMIN_URL": server.url,
        "ADMIN_KEY": server.admin_key,
        "SHOP": json.dumps(ids),
        "OUT_FILE": str(out_file),
    }
    run = subprocess.run(
        [node, "--test", "--test-reporter=spec", "checkout.test.mjs"],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(run.stdout[-6000:], run.stderr[-3000:])
    assert run.returncode == 0, (
        f"the js-sdk suite failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}"
    )

    seen = json.loads(out_file.read_text())
    ledger = container.ledger
    order_id = uuid.UUID(seen["order_id"])
    assert order_id == order_id_for(seen["payment_intent_id"])
    for refused in (seen["declined_payment_intent_id"], seen["stock_out_payment_intent_id"]):
        assert ledger.get_or_none(order_id_for(refused), Order) is None
    scarce = ledger.repository.get(inventory_level_id_for(ids["scarce_variant"], ids["location"]))
    assert isinstance(scarce, InventoryLevel)
    assert (scarce.stocked, scarce.reserved) == (0, 0)  # nothing held for the refused order

    def captured() -> PaymentCollection | None:
        payment = ledger.repository.get(payment_collection_id_for(order_id))
        return payment if payment.is_captured else None

    payment = wait_until(captured)
    assert payment.captured == 7790
    assert [t["kind"] for t in payment.transactions] == ["authorization", "capture"]
    assert (
        server.stripe().v1.payment_intents.retrieve(seen["payment_intent_id"]).status == "succeeded"
    )

    audit = cli(container, "audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    replay = cli(container, "audit", "replay", str(order_id), "--json")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    with server.admin() as admin:
        shown = wait_until(
            lambda: (
                (o := admin.get(f"/admin/orders/{order_id}").json()).get("status") == "captured"
                and o
            )
        )
    assert (shown["total"], shown["email"]) == (7790, "ada@example.com")
