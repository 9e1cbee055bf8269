"""Settings from the environment: defaults, parsing, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.settings import SettingsError, load_settings

VARIABLES = [
    "DATABASE_URL", "REDIS_URL", "DATA_DIR", "STRIPE_API_KEY", "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE", "STRIPE_REQUEST_INCREMENTAL_AUTHORIZATION", "CAPTURE_GRACE_SECONDS",
    "RESEND_API_KEY", "RESEND_API_URL", "NOTIFY_FROM", "OPS_EMAIL", "S3_ENDPOINT_URL",
    "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_REGION", "STORE_CORS",
    "ADMIN_CORS", "AUTH_CORS",
]  # fmt: skip


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_an_empty_environment_gives_the_embedded_defaults() -> None:
    settings = load_settings()

    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.data_dir == Path(".orderledger")
    assert settings.stripe_api_key.get_secret_value() == "sk_test_local"
    assert settings.capture_grace_seconds == 3600
    assert settings.notify_from == "orders@example.com"
    assert settings.stripe_request_incremental_authorization is False
    assert settings.store_cors == []


def test_cors_origins_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORE_CORS", "http://localhost:8000, https://shop.example.com,")

    assert load_settings().store_cors == ["http://localhost:8000", "https://shop.example.com"]


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("CAPTURE_GRACE_SECONDS", "")

    settings = load_settings()

    assert settings.database_url is None
    assert settings.capture_grace_seconds == 3600


def test_secrets_are_not_shown_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_hidden")

    assert "whsec_hidden" not in repr(load_settings())


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DATABASE_URL", "mysql://u:pw@h/d", "DATABASE_URL: must start with postgresql://"),
        ("REDIS_URL", "http://h:6379", "REDIS_URL: must start with redis:// or rediss://"),
        ("CAPTURE_GRACE_SECONDS", "0", "CAPTURE_GRACE_SECONDS: Input should be greater than 0"),
        ("CAPTURE_GRACE_SECONDS", "soon", "CAPTURE_GRACE_SECONDS: Input should be a valid integer"),
        ("STRIPE_API_BASE", "localhost:12111", "STRIPE_API_BASE: must start with http://"),
        ("NOTIFY_FROM", "orders", "NOTIFY_FROM: must be an e-mail address"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_bad_database_url_does_not_leak_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u:hunter2@h/d")

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert "hunter2" not in str(raised.value)
