"""Fixtures of the Medusa surface's tests: a server of their own, with a short grace period."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import LiveServer, fresh_database, running_server, stripe_emulator

__all__ = ["stripe_emulator"]

HERE = Path(__file__).parent
GRACE_SECONDS = 2
STOREFRONT_ORIGIN = "https://shop.example"


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` executable, with the suite's packages installed from the committed
    lockfile (``npm ci``) when they are missing. Without Node the suite skips, except on
    CI (CI=true), where it fails."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        message = "Node.js 20+ and npm are needed to drive @medusajs/js-sdk; install them"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    if not (HERE / "node_modules" / "@medusajs" / "js-sdk").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300)
    return node


@pytest.fixture(scope="session")
def medusa_server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    """Its own database and Redis db 13; a two-second grace; STORE_CORS for one origin."""
    redis_db13 = redis_url.rsplit("/", 1)[0] + "/13"
    redis.Redis.from_url(redis_db13).flushdb()
    with (
        fresh_database(database_url) as url,
        running_server(
            url,
            redis_db13,
            stripe_emulator,
            capture_grace_seconds=GRACE_SECONDS,
            capture_sweep_seconds=0.5,
            store_cors=[STOREFRONT_ORIGIN],
        ) as server,
    ):
        yield server


@dataclass(frozen=True)
class SmallShop:
    region: str
    channel: str
    other_channel: str
    variant: str
    shipping: str


@pytest.fixture
def small_shop(medusa_server: LiveServer) -> SmallShop:
    """One region, two channels, one stocked variant (ids of its own)."""
    s = uuid.uuid4().hex[:8]
    shop = SmallShop(f"eu-{s}", f"web-{s}", f"pos-{s}", f"tee-{s}-m", f"std-{s}")
    catalog = {
        "regions": [{"id": shop.region, "currency": "eur", "tax_rate_bp": 2000}],
        "stock_locations": [{"id": f"loc-{s}", "name": "Berlin"}],
        "sales_channels": [
            {"id": shop.channel, "stock_location_ids": [f"loc-{s}"]},
            {"id": shop.other_channel, "stock_location_ids": [f"loc-{s}"]},
        ],
        "shipping_options": [
            {"id": shop.shipping, "region_id": shop.region, "name": "Standard", "amount": 495}
        ],
        "products": [
            {
                "id": f"tee-{s}",
                "title": "T-shirt",
                "variants": [
                    {"id": shop.variant, "sku": f"T-{s}", "title": "M", "prices": {"eur": 2500}}
                ],
            }
        ],
        "inventory": [
            {"variant_id": shop.variant, "location_id": f"loc-{s}", "stocked_quantity": 5}
        ],
    }
    with medusa_server.admin() as admin:
        answer = admin.post("/admin/catalog", json=catalog)
    assert answer.status_code == 200, answer.text
    return shop
