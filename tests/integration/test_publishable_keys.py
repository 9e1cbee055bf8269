"""Publishable API keys: made by the CLI, stored hashed, looked up, revoked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from commands.catalog import CatalogFile
from infra.container import Container
from infra.schema import SCHEMA
from tests.integration.cli_fixtures import container as container
from tests.integration.cli_fixtures import orderledger as orderledger

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]


@pytest.fixture
def channel(container: Container) -> str:
    s = uuid.uuid4().hex[:8]
    container.services.catalog.upsert(
        CatalogFile.model_validate(
            {
                "stock_locations": [{"id": f"loc-{s}", "name": "Berlin"}],
                "sales_channels": [{"id": f"web-{s}", "stock_location_ids": [f"loc-{s}"]}],
            }
        )
    )
    return f"web-{s}"


def test_a_key_is_created_for_a_channel_and_printed_alone_on_the_last_line(
    orderledger: Any, container: Container, channel: str
) -> None:
    result = orderledger("publishable-key", "create", "web shop", "--sales-channel", channel)

    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("pk_")
    found = container.publishable_keys.lookup(key)
    assert found is not None
    assert (found.name, found.sales_channel_ids, found.revoked) == ("web shop", (channel,), False)


def test_the_key_itself_is_never_stored(container: Container, channel: str) -> None:
    key_id, key = container.publishable_keys.create("hashed", [channel])
    with container.pool.connection() as conn:
        row = conn.execute(
            f"SELECT key_hash FROM {SCHEMA}.publishable_keys WHERE id = %s", (key_id,)
        ).fetchone()
    assert row is not None
    assert key not in str(row[0])
    assert key.split("_")[-1] not in str(row[0])


def test_a_revoked_key_is_still_known_but_marked_revoked(
    orderledger: Any, container: Container, channel: str
) -> None:
    key_id, key = container.publishable_keys.create("old", [channel])

    result = orderledger("publishable-key", "revoke", key_id)

    assert result.exit_code == 0, result.output
    found = container.publishable_keys.lookup(key)
    assert found is not None and found.revoked
    assert orderledger("publishable-key", "revoke", key_id).exit_code == 1


def test_the_list_shows_keys_and_their_channels_but_never_the_keys(
    orderledger: Any, container: Container, channel: str
) -> None:
    key_id, key = container.publishable_keys.create("listed", [channel])

    result = orderledger("publishable-key", "list")

    assert result.exit_code == 0, result.output
    assert key_id in result.output and channel in result.output
    assert key not in result.output


@pytest.mark.parametrize(
    "presented",
    ["", "pk_", "pk_unknown_secret", "olk_abc_def", "pk_" + "x" * 300],
)
def test_what_is_not_one_of_our_keys_looks_up_as_none(
    container: Container, channel: str, presented: str
) -> None:
    assert container.publishable_keys.lookup(presented) is None


def test_a_forged_secret_for_a_real_key_id_looks_up_as_none(
    container: Container, channel: str
) -> None:
    key_id, _ = container.publishable_keys.create("real", [channel])
    assert container.publishable_keys.lookup(f"pk_{key_id}_forged") is None


def test_a_key_for_an_unknown_channel_is_refused(orderledger: Any) -> None:
    result = orderledger("publishable-key", "create", "x", "--sales-channel", "no-such-channel")

    assert result.exit_code == 1
    assert "no sales channel" in result.output
