"""The admin API answers only to a live admin key."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LiveServer
from tests.e2e.ledger_probe import settled_head


def post_catalog(
    server: LiveServer, headers: dict[str, str], catalog: dict[str, Any]
) -> httpx.Response:
    with server.client(headers=headers) as client:
        return client.post("/admin/catalog", json=catalog)


def a_small_catalog(suffix: str) -> dict[str, Any]:
    return {"regions": [{"id": f"keyed-{suffix}", "currency": "eur", "tax_rate_bp": 0}]}


def assert_not_authenticated(answer: httpx.Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "NotAuthenticated"
    assert answer.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Authorization": "Bearer olk_000000000000_guessed"},
        {"Authorization": "Bearer not-even-the-shape"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
    ids=["none", "empty", "no-key", "basic", "unknown-key", "malformed", "huge"],
)
def test_the_admin_catalog_refuses_a_request_without_a_valid_key(
    live_server: LiveServer, headers: dict[str, str]
) -> None:
    suffix = uuid.uuid4().hex[:8]
    head = settled_head(live_server)
    assert_not_authenticated(post_catalog(live_server, headers, a_small_catalog(suffix)))
    assert live_server.container.services.catalog.region(f"keyed-{suffix}") is None
    assert live_server.container.ledger.head == head


def test_a_key_with_the_right_id_but_the_wrong_secret_is_refused(live_server: LiveServer) -> None:
    keys = live_server.container.admin_keys
    key_id, key = keys.create("wrong-secret")
    forged = key[: -len("tampered")] + "tampered"
    assert forged != key
    answer = post_catalog(
        live_server, {"Authorization": f"Bearer {forged}"}, a_small_catalog(key_id)
    )
    assert_not_authenticated(answer)
    assert live_server.container.services.catalog.region(f"keyed-{key_id}") is None


def test_a_revoked_key_is_refused_from_the_next_request_on(live_server: LiveServer) -> None:
    keys = live_server.container.admin_keys
    key_id, key = keys.create("soon-revoked")
    headers = {"Authorization": f"Bearer {key}"}
    accepted = post_catalog(live_server, headers, a_small_catalog(f"{key_id}-a"))
    assert accepted.status_code == 200, accepted.text

    assert keys.revoke(key_id)
    refused = post_catalog(live_server, headers, a_small_catalog(f"{key_id}-b"))
    assert_not_authenticated(refused)
    assert live_server.container.services.catalog.region(f"keyed-{key_id}-b") is None
    assert not keys.revoke(key_id), "a key is revoked once"


def test_the_scheme_name_is_case_insensitive_for_a_live_key(live_server: LiveServer) -> None:
    key_id, key = live_server.container.admin_keys.create("lowercase-bearer")
    answer = post_catalog(live_server, {"Authorization": f"bearer {key}"}, a_small_catalog(key_id))
    assert answer.status_code == 200, answer.text
