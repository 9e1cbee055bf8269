"""Fuzzing the API from its own OpenAPI schema: no 5xx anywhere, answers match their schema.

Schemathesis generates the requests from the schema the app publishes; each
operation gets a bounded number of examples against the live server.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from infra.app import create_app
from tests.e2e.conftest import LiveServer

EXAMPLES_PER_OPERATION = 12

SCHEMA = schemathesis.openapi.from_dict(
    create_app(container_factory=lambda: None).openapi()  # type: ignore[arg-type]
)
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


def test_the_schema_covers_the_api() -> None:
    assert len(OPERATIONS) >= 20
    assert "POST /store/carts/{cart_id}/complete" in OPERATIONS


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_operation_answers_with_a_server_error_or_off_its_schema(
    live_server: LiveServer, label: str
) -> None:
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        # With the admin key, so admin operations are exercised beyond the 401.
        case.call_and_validate(
            base_url=live_server.url,
            headers={"Authorization": f"Bearer {live_server.admin_key}"},
            checks=[not_a_server_error, response_schema_conformance],
            timeout=30,
        )

    fuzz()
