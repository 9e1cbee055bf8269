"""DATABASE_URL translation: pure functions, no I/O."""

from __future__ import annotations

import os

import pytest
from psycopg.conninfo import conninfo_to_dict

from infra.database import (
    apply_ssl_environment,
    conninfo,
    event_store_env,
    parse_database_url,
    ssl_environment,
    with_database,
)


def test_a_tcp_url_becomes_the_event_store_environment() -> None:
    env = event_store_env("postgresql://shop:s3cret@db.example.com:6543/ledger")

    assert env == {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": "ledger",
        "POSTGRES_HOST": "db.example.com",
        "POSTGRES_PORT": "6543",
        "POSTGRES_USER": "shop",
        "POSTGRES_PASSWORD": "s3cret",
        "POSTGRES_POOL_SIZE": "5",
        "POSTGRES_MAX_OVERFLOW": "20",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "CREATE_TABLE": "y",
    }


def test_database_functions_are_never_enabled() -> None:
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in event_store_env("postgresql://u@h/d")


def test_the_postgres_scheme_is_accepted_and_the_port_defaults_to_5432() -> None:
    env = event_store_env("postgres://u@h/d")

    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("h", "5432")


def test_a_socket_directory_in_the_query_is_the_host() -> None:
    env = event_store_env("postgresql://postgres:@/postgres?host=/tmp/x")

    assert env["POSTGRES_HOST"] == "/tmp/x"
    assert env["POSTGRES_DBNAME"] == "postgres"
    assert env["POSTGRES_USER"] == "postgres"
    assert env["POSTGRES_PASSWORD"] == ""


def test_a_percent_encoded_socket_directory_in_the_host_part_is_the_host() -> None:
    env = event_store_env("postgresql://u@%2Fvar%2Frun%2FPostgreSQL/d")

    assert env["POSTGRES_HOST"] == "/var/run/PostgreSQL"


def test_percent_encoded_credentials_are_decoded() -> None:
    env = event_store_env("postgresql://us%40er:p%3Ass%2Fw@h/d")

    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("us@er", "p:ss/w")


def test_an_ipv6_host_loses_its_brackets() -> None:
    env = event_store_env("postgresql://u@[::1]:5433/d")

    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("::1", "5433")


def test_connect_timeout_in_the_url_is_used() -> None:
    assert (
        event_store_env("postgresql://u@h/d?connect_timeout=12")["POSTGRES_CONNECT_TIMEOUT"] == "12"
    )


def test_ssl_options_become_libpq_variables_not_event_store_settings() -> None:
    url = (
        "postgresql://u@h/d?sslmode=verify-full&sslrootcert=/ca.pem"
        "&sslcert=/client.pem&sslkey=/client.key"
    )

    assert ssl_environment(url) == {
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": "/ca.pem",
        "PGSSLCERT": "/client.pem",
        "PGSSLKEY": "/client.key",
    }
    assert not any("SSL" in key for key in event_store_env(url))


def test_a_url_without_ssl_options_sets_no_libpq_variables() -> None:
    assert ssl_environment("postgresql://u@h/d") == {}


def test_applying_the_ssl_environment_sets_only_the_given_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # setenv first, so that monkeypatch restores what apply_ssl_environment changes
    monkeypatch.setenv("PGSSLMODE", "prefer")
    monkeypatch.setenv("PGSSLKEY", "/kept.key")

    apply_ssl_environment("postgresql://u@h/d?sslmode=require")

    assert os.environ["PGSSLMODE"] == "require"
    assert os.environ["PGSSLKEY"] == "/kept.key"


def test_conninfo_keeps_every_option_including_ssl() -> None:
    info = conninfo("postgresql://u:p w@h:5433/d?sslmode=require&sslrootcert=/ca.pem")

    assert conninfo_to_dict(info) == {
        "host": "h",
        "port": "5433",
        "dbname": "d",
        "user": "u",
        "password": "p w",
        "connect_timeout": "5",
        "sslmode": "require",
        "sslrootcert": "/ca.pem",
    }


def test_conninfo_leaves_out_empty_parts_so_libpq_defaults_apply() -> None:
    info = conninfo_to_dict(conninfo("postgresql://postgres:@/postgres?host=/tmp/x"))

    assert "password" not in info
    assert info["host"] == "/tmp/x"


def test_with_database_names_another_database_on_the_same_server() -> None:
    url = with_database("postgresql://postgres:@/postgres?host=/tmp/x&sslmode=disable", "other")

    assert url == "postgresql://postgres:@/other?host=/tmp/x&sslmode=disable"
    assert parse_database_url(url).host == "/tmp/x"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://u@h/d", "must start with postgresql:// or postgres://"),
        ("postgresql://u@h:port/d", "port must be a number"),
        ("postgresql://u@h/d?application_name=x", "option 'application_name' is not supported"),
        ("postgresql://u@h1,h2/d", "multiple hosts are not supported"),
        ("postgresql://u@h/d?connect_timeout=soon", "connect_timeout must be a number"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_database_url(url)


def test_the_password_is_not_shown_in_the_parsed_urls_repr() -> None:
    assert "s3cret" not in repr(parse_database_url("postgresql://u:s3cret@h/d"))
