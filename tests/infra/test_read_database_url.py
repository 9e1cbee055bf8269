"""READ_DATABASE_URL: one or several standby URLs, checked like DATABASE_URL."""

from __future__ import annotations

import pytest

from infra.read_replicas import standby_name, standby_urls
from infra.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("READ_DATABASE_URL", "READ_STANDBY_MAX_LAG_SECONDS", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_several_standbys_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "READ_DATABASE_URL", "postgresql://r:pw@standby-a:5432/shop, postgresql://r@standby-b/shop"
    )
    settings = load_settings()

    urls = standby_urls(settings.read_database_url)

    assert [standby_name(url) for url in urls] == ["standby-a:5432", "standby-b:5432"]
    assert settings.read_standby_max_lag_seconds == 1.0


def test_unset_means_every_read_on_the_primary() -> None:
    assert standby_urls(load_settings().read_database_url) == []


def test_a_bad_standby_url_is_named_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("READ_DATABASE_URL", "postgresql://r@a/shop,mysql://r:secret@b/shop")

    with pytest.raises(SettingsError) as raised:
        load_settings()

    assert "READ_DATABASE_URL: URL 2: must start with postgresql://" in str(raised.value)
    assert "secret" not in str(raised.value)


def test_a_lag_bound_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("READ_STANDBY_MAX_LAG_SECONDS", "0")

    with pytest.raises(SettingsError, match="READ_STANDBY_MAX_LAG_SECONDS"):
        load_settings()
