"""compose.yaml describes the scaled deployment in terms this code understands: every
variable it sets is a setting, the URLs point at the right services, and it runs two
API processes and two workers beside a primary, a standby and Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from infra.database import parse_database_url
from infra.read_replicas import standby_urls
from infra.settings import Settings

COMPOSE = Path(__file__).resolve().parents[2] / "compose.yaml"


def services() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    found: dict[str, Any] = document["services"]
    return found


def test_the_compose_file_runs_two_apis_two_workers_a_primary_a_standby_and_redis() -> None:
    found = services()
    assert {"api", "worker", "postgres-primary", "postgres-standby", "redis"} <= set(found)
    assert found["api"]["deploy"]["replicas"] == 2
    assert found["worker"]["deploy"]["replicas"] == 2
    assert found["api"]["command"][:2] == ["orderledger", "serve"]
    assert found["worker"]["command"] == ["orderledger", "worker"]
    assert "pg_basebackup" in " ".join(found["postgres-standby"]["entrypoint"])
    assert "-R" in " ".join(found["postgres-standby"]["entrypoint"]).split()


def test_every_variable_of_the_app_services_is_a_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for name in ("api", "worker"):
        environment = services()[name]["environment"]
        unknown = set(environment) - fields
        assert not unknown, (name, unknown)


def test_writes_go_to_the_primary_and_view_reads_to_the_standby() -> None:
    environment = services()["api"]["environment"]
    assert parse_database_url(environment["DATABASE_URL"]).host == "postgres-primary"
    (standby,) = standby_urls(environment["READ_DATABASE_URL"])
    assert parse_database_url(standby).host == "postgres-standby"
    assert environment["REDIS_URL"].startswith("redis://redis:")
    # The values that are not placeholders are valid settings as they are.
    literal = {k.lower(): v for k, v in environment.items() if "${" not in str(v)}
    settings = Settings(**literal)
    assert settings.read_standby_max_lag_seconds == 1
