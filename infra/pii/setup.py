"""Turning personal-data encryption on, from the settings (composition root's helper).

On when PII_MASTER_KEY is set; off otherwise, as before this feature, so that
existing deployments and tests keep working until they set a key. With
PII_ENCRYPTION_REQUIRED=true a process refuses to start without a key (set it in
production). ``orderledger dev`` (``make run``) makes a key under DATA_DIR once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from commands.aggregate_cache import AggregateCache
from infra.notify_listener import ChannelListener
from infra.pg import Pool
from infra.pii.crypto import MasterKey, new_master_key_text, parse_master_key
from infra.pii.keys import ERASURE_CHANNEL, CachedDataKeys, PostgresDataKeys, create_key_tables
from infra.pii.mapper import PersonalData

MASTER_KEY_FILE = "pii_master_key"


class PersonalDataKeyMissing(RuntimeError):
    """PII_ENCRYPTION_REQUIRED is set but PII_MASTER_KEY is not."""


def enable_personal_data(settings: Any, pool: Pool) -> PersonalData | None:
    """Personal data sealed with PII_MASTER_KEY (its key tables made), or None: the
    ledger is then built with ``Ledger(mapper=sealing(personal))``."""
    secret = settings.pii_master_key
    if secret is None:
        if settings.pii_encryption_required:
            raise PersonalDataKeyMissing(
                "PII_ENCRYPTION_REQUIRED is set but PII_MASTER_KEY is not: refusing to "
                "store personal data in clear (make one: orderledger customers new-master-key)."
            )
        return None
    master = MasterKey(parse_master_key(secret.get_secret_value()))
    create_key_tables(pool)
    return PersonalData(master, CachedDataKeys(PostgresDataKeys(pool, master)))


def ensure_dev_master_key(data_dir: Path) -> None:
    """For ``orderledger dev``: PII_MASTER_KEY from DATA_DIR, made there once when unset."""
    if os.environ.get("PII_MASTER_KEY"):
        return
    path = data_dir / MASTER_KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(new_master_key_text() + "\n")
    os.environ["PII_MASTER_KEY"] = path.read_text().strip()


def forget_on_erasure(pool: Pool, personal: PersonalData, held: AggregateCache) -> ChannelListener:
    """The thread that, when any process erases a customer, drops what this one holds in
    clear: its data keys and the carts and levels it holds for checkout (which would
    otherwise place an erased customer's cart with her e-mail and address again)."""
    keys = personal.keys

    def forget() -> None:
        held.clear()
        if isinstance(keys, CachedDataKeys):
            keys.forget_all()

    dsn = pool.conninfo if isinstance(pool.conninfo, str) else pool.conninfo()
    return ChannelListener(dsn, ERASURE_CHANNEL, forget).start()
