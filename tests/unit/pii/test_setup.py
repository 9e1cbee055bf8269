"""When sealing is on: a master key given, required in production, made once in dev."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.pii.crypto import MasterKeyInvalid, new_master_key_text, parse_master_key
from infra.pii.setup import PersonalDataKeyMissing, enable_personal_data, ensure_dev_master_key
from infra.settings import Settings, SettingsError, load_settings


def test_without_a_key_sealing_is_off_unless_required() -> None:
    # Given no PII_MASTER_KEY: off (None), and nothing is touched
    assert enable_personal_data(Settings(), pool=None) is None  # type: ignore[arg-type]
    # When PII_ENCRYPTION_REQUIRED is set, then the process refuses to start, in one line
    with pytest.raises(PersonalDataKeyMissing, match="PII_MASTER_KEY"):
        enable_personal_data(
            Settings.model_construct(pii_master_key=None, pii_encryption_required=True),
            pool=None,  # type: ignore[arg-type]
        )


def test_the_settings_refuse_a_required_key_missing_or_a_bad_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PII_ENCRYPTION_REQUIRED", "true")
    monkeypatch.delenv("PII_MASTER_KEY", raising=False)
    with pytest.raises(SettingsError, match="PII_ENCRYPTION_REQUIRED: is set, so PII_MASTER_KEY"):
        load_settings()
    monkeypatch.setenv("PII_MASTER_KEY", "not-a-key-sk_live_secret")
    with pytest.raises(SettingsError, match="PII_MASTER_KEY: PII_MASTER_KEY must be 32") as bad:
        load_settings()
    assert "sk_live_secret" not in str(bad.value)
    monkeypatch.setenv("PII_MASTER_KEY", new_master_key_text())
    assert load_settings().pii_encryption_required is True


def test_a_master_key_is_32_bytes_in_base64_or_hex() -> None:
    key = new_master_key_text()
    assert len(parse_master_key(key)) == 32
    assert parse_master_key("ab" * 32) == bytes.fromhex("ab" * 32)
    for bad in ("", "short", "ab" * 16):
        with pytest.raises(MasterKeyInvalid):
            parse_master_key(bad)


def test_dev_makes_a_key_once_under_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given no PII_MASTER_KEY (restored after the test, whatever dev sets)
    monkeypatch.setenv("PII_MASTER_KEY", "")
    monkeypatch.delenv("PII_MASTER_KEY")
    # When dev starts twice
    ensure_dev_master_key(tmp_path)
    import os

    first = os.environ["PII_MASTER_KEY"]
    monkeypatch.delenv("PII_MASTER_KEY")
    ensure_dev_master_key(tmp_path)
    # Then it is the same key, kept in a file only its owner reads
    assert os.environ["PII_MASTER_KEY"] == first
    assert len(parse_master_key(first)) == 32
    assert (tmp_path / "pii_master_key").stat().st_mode & 0o077 == 0


def test_a_wrong_master_key_stops_rather_than_reading_as_erased() -> None:
    from infra.pii.crypto import MasterKey, WrongMasterKey, new_data_key

    made_with = MasterKey(parse_master_key(new_master_key_text()))
    other = MasterKey(parse_master_key(new_master_key_text()))
    wrapped = made_with.wrap("k_1", new_data_key())
    assert len(made_with.unwrap("k_1", wrapped)) == 32
    with pytest.raises(WrongMasterKey, match="does not open the data keys"):
        other.unwrap("k_1", wrapped)
