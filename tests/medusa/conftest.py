"""Fixtures of the Medusa surface's tests: a server of their own, with a short grace period."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.container import build_container
from infra.settings import Settings
from infra.stripe_emulator import RunningEmulator, free_port
from tests.e2e.conftest import (
    WEBHOOK_SECRET,
    LiveServer,
    fresh_database,
    import_catalog,
    own_redis_database,
    stripe_emulator,
)
from tests.processes import orderledger_command, orderledger_processes

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


@contextmanager
def served(
    database_url: str, redis_url: str, emulator: RunningEmulator, logs: Path
) -> Iterator[LiveServer]:
    """``orderledger serve`` and ``orderledger worker`` as their own processes, as a shop
    runs them, on 127.0.0.1. The returned server's container reads the same database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "STRIPE_API_KEY": "sk_test_e2e",
        "STRIPE_API_BASE": emulator.url,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "CAPTURE_GRACE_SECONDS": str(GRACE_SECONDS),
        "CAPTURE_SWEEP_SECONDS": "0.5",
        "STORE_CORS": STOREFRONT_ORIGIN,
        "RATE_LIMIT_CARTS_PER_MINUTE": "1000000",
    }
    made = subprocess.run(
        orderledger_command("admin", "create-key", "medusa-tests"),
        env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    admin_key = made.stdout.strip().splitlines()[-1]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (
        orderledger_processes(
            [["serve", "--port", str(port)], ["worker"]], env, logs, ready_url=f"{url}/health"
        ),
        closing(build_container(Settings(database_url=database_url, redis_url=redis_url))) as built,
    ):
        yield LiveServer(url=url, container=built, admin_key=admin_key, emulator_url=emulator.url)


@pytest.fixture(scope="session")
def medusa_server(
    database_url: str,
    redis_url: str,
    stripe_emulator: RunningEmulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    """A running ``orderledger serve`` and ``worker``: own database, Redis db 13, a
    two-second grace period, STORE_CORS for one origin."""
    redis_db13 = own_redis_database(redis_url, 13)
    with (
        fresh_database(database_url) as url,
        served(url, redis_db13, stripe_emulator, tmp_path_factory.mktemp("orderledger")) as server,
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
    import_catalog(medusa_server, catalog)
    return shop
