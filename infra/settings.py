"""Configuration from the environment: one Settings class, read once at startup."""

from __future__ import annotations

import re
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from infra.database import parse_database_url

CorsOrigins = Annotated[list[str], NoDecode]

# Fields whose offending value may be echoed in an error; the others can hold
# secrets (URLs carry passwords).
_SAFE_TO_ECHO = frozenset({"capture_grace_seconds", "stripe_request_incremental_authorization"})


class SettingsError(Exception):
    """A configuration problem, described in one line fit to print to a user."""


class Settings(BaseSettings):
    """Every setting orderledger reads; the environment variable is the field name in capitals."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", env_ignore_empty=True)

    database_url: str | None = None  # unset → embedded PostgreSQL under DATA_DIR
    redis_url: str | None = None  # unset → Postgres timers and locks
    # Hot standbys the views are read from (comma-separated URLs); unset: the primary.
    read_database_url: str | None = None
    # A standby further behind than this is left out (its reads go to the primary).
    read_standby_max_lag_seconds: float = Field(default=1.0, gt=0, le=600)
    data_dir: Path = Path(".orderledger")

    stripe_api_key: SecretStr = SecretStr("sk_test_local")
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_request_incremental_authorization: bool = False
    capture_grace_seconds: int = Field(default=3600, gt=0)
    # Where Stripe cannot raise a hold: a second PaymentIntent, or refuse (409).
    increment_fallback: Literal["supplementary", "none"] = "supplementary"
    # Per client and minute, on the public write endpoints (429 beyond).
    rate_limit_carts_per_minute: int = Field(default=60, gt=0)
    rate_limit_reviews_per_minute: int = Field(default=10, gt=0)
    # Every other public write (line changes, shipping, order changes) per client, and
    # payment-session + complete per client; every write naming a cart or order, per
    # cart/order whoever sends it. A recognised storefront server gets `factor` times
    # the per-client allowances (see infra/web/client_identity.py).
    rate_limit_writes_per_minute: int = Field(default=300, gt=0)
    rate_limit_checkout_per_minute: int = Field(default=30, gt=0)
    rate_limit_per_cart_per_minute: int = Field(default=60, gt=0)
    rate_limit_storefront_factor: int = Field(default=20, gt=0)
    # Failed admin authentications per client and minute before every admin request
    # from that client is refused (429) until the minute is over.
    admin_auth_failures_per_minute: int = Field(default=10, gt=0)
    # CIDRs of the proxies whose X-Forwarded-For / X-Forwarded-Proto are believed;
    # empty: none (not even loopback), the TCP peer is the client.
    trusted_proxies: CorsOrigins = []
    # /metrics: with METRICS_PORT on its own port (METRICS_HOST) and not on the API;
    # else with METRICS_TOKEN behind `Authorization: Bearer <token>`; else loopback only.
    metrics_port: int | None = Field(default=None, gt=0, lt=65536)
    metrics_host: str = "127.0.0.1"
    metrics_token: SecretStr | None = None
    # Days after placing during which an order's access token opens it.
    order_token_days: int = Field(default=90, gt=0, le=3650)
    # /docs, /redoc and /openapi.json (turn off in production if you do not publish them).
    api_docs: bool = True
    # How often the sweeper looks for due captures that no timer delivered.
    capture_sweep_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Reads waiting for their views at once, per API process (503 TooManyWaiting beyond).
    view_waiters_max: int = Field(default=200, gt=0, le=100_000)
    # How long such a read waits (then min_position answers X-View-Caught-Up: false,
    # and a read by id 503 ViewBehind).
    view_wait_seconds: float = Field(default=2.0, gt=0, le=60)
    # Checkout's catalog cache (infra/catalog_cache.py): dropped on every change NOTIFYd
    # by the catalog tables' triggers, and an entry read again once this old; 0: off.
    catalog_cache_seconds: float = Field(default=5.0, ge=0, le=3600)
    # Log lines as JSON or text; unset: text for `dev` or a terminal, JSON otherwise.
    log_format: Literal["json", "text"] | None = None
    # Reconciliation with Stripe (the worker's duty; 0 turns it off): how often, over
    # how many days back, and how old an orphan hold must be before it is released.
    reconcile_every: float = Field(default=3600, ge=0)
    reconcile_window_days: int = Field(default=35, gt=0, le=400)
    reconcile_orphan_age_seconds: int = Field(default=3600, ge=300)
    # Personal data (e-mails, names, addresses) sealed per customer under data keys that
    # this key wraps (32 bytes, base64 or hex); unset: stored in clear, as before. With
    # PII_ENCRYPTION_REQUIRED a process refuses to start without it (README: "Personal data").
    pii_master_key: SecretStr | None = None
    pii_encryption_required: bool = False

    resend_api_key: SecretStr | None = None
    resend_api_url: str | None = None
    notify_from: str = "orders@example.com"
    ops_email: str | None = None

    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_region: str | None = None
    # Files (uploads, product images, review photos): in S3_BUCKET when S3 is set up,
    # else under DATA_DIR/files. FILES_PUBLIC_URL is where clients read them (an R2
    # public bucket or CDN); unset, this service serves them at /files/….
    files_public_url: str | None = None
    files_max_upload_bytes: int = Field(default=10 << 20, gt=0, le=1 << 30)
    files_review_photo_max_bytes: int = Field(default=5 << 20, gt=0, le=1 << 30)
    files_presign_seconds: int = Field(default=600, gt=0, le=7 * 86400)
    files_sweep_grace_seconds: int = Field(default=3600, ge=0)
    files_sweep_seconds: float = Field(default=300.0, gt=0)
    # How browsers upload straight to the bucket: "post" (a form with a signed policy:
    # S3, MinIO) or "put" (a signed PUT of an exact size: R2, which takes no forms).
    files_upload_method: Literal["post", "put"] = "post"

    # Where the Medusa-compatible Store API is served (``/medusa/store/...``).
    medusa_prefix: str = "/medusa"

    store_cors: CorsOrigins = []
    admin_cors: CorsOrigins = []
    auth_cors: CorsOrigins = []

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is not None:
            parse_database_url(value)
        return value

    @field_validator("read_database_url")
    @classmethod
    def _check_read_database_urls(cls, value: str | None) -> str | None:
        for number, url in enumerate((value or "").split(","), 1):
            if url.strip():
                try:
                    parse_database_url(url.strip())
                except ValueError as error:
                    raise ValueError(f"URL {number}: {error}") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_scheme(value, ("redis", "rediss"))
        return value

    @field_validator("stripe_api_base", "resend_api_url", "s3_endpoint_url", "files_public_url")
    @classmethod
    def _check_http_url(cls, value: str | None) -> str | None:
        if value is not None:
            _check_scheme(value, ("http", "https"))
        return value

    @field_validator("notify_from", "ops_email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value is not None and "@" not in value:
            raise ValueError(f"must be an e-mail address (got {value!r})")
        return value

    @field_validator("medusa_prefix")
    @classmethod
    def _check_medusa_prefix(cls, value: str) -> str:
        if not re.fullmatch(r"(/[A-Za-z0-9._-]+)+", value):
            raise ValueError(
                f"must be a path like /medusa, without a trailing slash (got {value!r})"
            )
        if value.split("/")[1] in {"store", "admin", "auth", "webhooks", "health", "metrics"}:
            raise ValueError(f"must not shadow the native API (got {value!r})")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"must be IP addresses or CIDRs (got {cidr!r})") from None
        return value

    @field_validator("pii_master_key")
    @classmethod
    def _check_pii_master_key(cls, value: SecretStr | None) -> SecretStr | None:
        from infra.pii.crypto import parse_master_key

        if value is not None:
            parse_master_key(value.get_secret_value())  # never echoes the value
        return value

    @field_validator("pii_encryption_required")
    @classmethod
    def _check_pii_required(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("pii_master_key") is None:
            raise ValueError("is set, so PII_MASTER_KEY must be a valid key (it is unset or bad)")
        return value

    @field_validator("store_cors", "admin_cors", "auth_cors", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


def load_settings() -> Settings:
    """Read the settings from the environment; raise SettingsError on a bad value."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "settings"
        message = str(item["msg"]).removeprefix("Value error, ")
        if field in _SAFE_TO_ECHO and "got" not in message:
            message += f" (got {item['input']!r})"
        problems.append(f"{field.upper()}: {message}")
    return "invalid configuration: " + "; ".join(problems)


def _check_scheme(url: str, schemes: tuple[str, ...]) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in schemes:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ValueError(f"must start with {wanted} (got scheme {scheme!r})")
