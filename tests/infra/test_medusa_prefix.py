"""MEDUSA_PREFIX: where the Medusa-compatible Store API is served."""

from __future__ import annotations

import pytest

from infra.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEDUSA_PREFIX", raising=False)


def test_the_surface_is_under_medusa_by_default() -> None:
    assert load_settings().medusa_prefix == "/medusa"


@pytest.mark.parametrize("prefix", ["/shop", "/api/medusa", "/v2.medusa_store-1"])
def test_a_prefix_may_be_any_path(monkeypatch: pytest.MonkeyPatch, prefix: str) -> None:
    monkeypatch.setenv("MEDUSA_PREFIX", prefix)
    assert load_settings().medusa_prefix == prefix


@pytest.mark.parametrize(
    "prefix", ["medusa", "/medusa/", "/", "/store", "/admin/medusa", "/a b", "/health"]
)
def test_a_prefix_that_is_no_path_or_shadows_the_native_api_is_refused(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setenv("MEDUSA_PREFIX", prefix)
    with pytest.raises(SettingsError, match="MEDUSA_PREFIX"):
        load_settings()
