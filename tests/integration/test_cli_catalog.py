"""The ``orderledger`` command line against a real database: catalog import and admin keys."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from domain.ids import inventory_level_id_for
from domain.inventory_level import InventoryLevel
from infra.container import Container
from tests.integration.cli_fixtures import container as container
from tests.integration.cli_fixtures import orderledger as orderledger

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


def catalog_file(tmp_path: Path, suffix: str, *, stock: int = 10, **extra: Any) -> Path:
    catalog: dict[str, Any] = {
        "regions": [{"id": f"eu-{suffix}", "currency": "eur", "tax_rate_bp": 2000}],
        "stock_locations": [{"id": f"berlin-{suffix}", "name": "Berlin"}],
        "sales_channels": [{"id": f"web-{suffix}", "stock_location_ids": [f"berlin-{suffix}"]}],
        "shipping_options": [
            {
                "id": f"std-{suffix}",
                "region_id": f"eu-{suffix}",
                "name": "Standard",
                "amount": 495,
                "stock_location_id": f"berlin-{suffix}",
            }
        ],
        "products": [
            {
                "id": f"tee-{suffix}",
                "title": "T-shirt",
                "tax_rate_bp": None,
                "variants": [
                    {"id": f"tee-m-{suffix}", "sku": "TEE-M", "title": "M", "prices": {"eur": 2500}}
                ],
            }
        ],
        "inventory": [
            {
                "variant_id": f"tee-m-{suffix}",
                "location_id": f"berlin-{suffix}",
                "stocked_quantity": stock,
                "allow_backorder": False,
            }
        ],
    }
    for section, items in extra.items():
        catalog[section] = catalog[section] + items
    path = tmp_path / f"catalog-{suffix}-{uuid.uuid4().hex[:6]}.json"
    path.write_text(json.dumps(catalog))
    return path


def level_of(container: Container, suffix: str) -> InventoryLevel:
    level = container.ledger.repository.get(
        inventory_level_id_for(f"tee-m-{suffix}", f"berlin-{suffix}")
    )
    assert isinstance(level, InventoryLevel)
    return level


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_importing_a_catalog_file_loads_the_catalog_and_stocks_inventory(
    orderledger: Any, container: Container, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    result = orderledger("catalog", "import", str(catalog_file(tmp_path, suffix, stock=7)))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["products"] == 1 and summary["variants"] == 1
    assert summary["inventory_levels"] == 1 and summary["position"] > 0

    catalog = container.services.catalog
    assert catalog.region(f"eu-{suffix}") is not None
    assert catalog.shipping_option(f"std-{suffix}") is not None
    variant = catalog.variant(f"tee-m-{suffix}")
    assert variant is not None and variant.prices == {"eur": 2500}
    level = level_of(container, suffix)
    assert (level.stocked, level.reserved, level.allow_backorder) == (7, 0, False)


def test_importing_the_same_file_again_records_no_new_inventory_events(
    orderledger: Any, container: Container, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    path = catalog_file(tmp_path, suffix)
    assert orderledger("catalog", "import", str(path)).exit_code == 0
    version, head = level_of(container, suffix).version, container.ledger.head

    again = orderledger("catalog", "import", str(path))
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["position"] is None
    assert level_of(container, suffix).version == version
    assert container.ledger.head == head


def test_importing_a_changed_stock_quantity_adjusts_it_through_the_ledger(
    orderledger: Any, container: Container, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    assert orderledger("catalog", "import", str(catalog_file(tmp_path, suffix))).exit_code == 0
    version = level_of(container, suffix).version

    result = orderledger("catalog", "import", str(catalog_file(tmp_path, suffix, stock=3)))
    assert result.exit_code == 0, result.output
    level = level_of(container, suffix)
    assert level.stocked == 3 and level.version == version + 1


def test_a_file_with_an_unknown_variant_in_inventory_is_refused_with_one_clear_line(
    orderledger: Any, container: Container, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:8]
    ghost = f"ghost-variant-with-a-rather-long-name-{suffix}"
    path = catalog_file(
        tmp_path,
        suffix,
        inventory=[{"variant_id": ghost, "location_id": f"berlin-{suffix}", "stocked_quantity": 1}],
    )
    head = container.ledger.head

    result = orderledger("catalog", "import", str(path))
    assert result.exit_code != 0
    message = one_line(result.stderr)
    assert message.startswith("orderledger: ")
    assert f"unknown variant {ghost}" in message
    assert result.stdout == ""
    assert container.ledger.head == head
    assert container.services.catalog.region(f"eu-{suffix}") is None


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('{"regions": [', "is not a valid catalog"),
        ('{"regions": [{"id": "eu", "currency": "EUR", "tax_rate_bp": 0}]}', "regions.0.currency"),
        ('{"regions": [], "colours": []}', "colours"),
    ],
)
def test_a_file_that_is_not_a_catalog_is_refused_with_one_clear_line(
    orderledger: Any, container: Container, tmp_path: Path, content: str, complaint: str
) -> None:
    path = tmp_path / f"broken-{uuid.uuid4().hex[:6]}.json"
    path.write_text(content)
    head = container.ledger.head
    result = orderledger("catalog", "import", str(path))
    assert result.exit_code == 2
    assert complaint in one_line(result.stderr)
    assert container.ledger.head == head


def test_a_missing_file_is_refused_with_one_clear_line(orderledger: Any, tmp_path: Path) -> None:
    result = orderledger("catalog", "import", str(tmp_path / "nowhere.json"))
    assert result.exit_code == 2
    assert "nowhere.json" in one_line(result.stderr)


def test_an_admin_key_made_on_the_command_line_verifies_lists_and_revokes(
    orderledger: Any, container: Container
) -> None:
    name = f"ops-{uuid.uuid4().hex[:6]}"
    made = orderledger("admin", "create-key", name)
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    key_id = container.admin_keys.verify(key)
    assert key_id is not None
    assert f"id: {key_id}" in made.stdout

    listed = orderledger("admin", "list-keys")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if key_id in line)
    assert name in row
    assert key not in listed.stdout, "a key is printed once, when made"

    revoked = orderledger("admin", "revoke-key", key_id)
    assert revoked.exit_code == 0, revoked.output
    assert key_id in revoked.stdout
    assert container.admin_keys.verify(key) is None
    assert [k.revoked_at is not None for k in container.admin_keys.list() if k.id == key_id] == [
        True
    ]

    again = orderledger("admin", "revoke-key", key_id)
    assert again.exit_code == 1
    assert key_id in one_line(again.stderr)


def test_revoking_a_key_that_does_not_exist_fails(orderledger: Any) -> None:
    result = orderledger("admin", "revoke-key", "nosuchkey")
    assert result.exit_code == 1
    assert "nosuchkey" in one_line(result.stderr)
