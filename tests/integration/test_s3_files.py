"""The file storage on S3 (moto on 127.0.0.1): objects by key, and presigned POST forms
whose policy refuses a too-large body, a wrong type and a reuse after expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from commands.files.ports import SizeRequired
from infra.file_storage import S3FileStorage
from infra.object_storage import s3_client
from infra.settings import Settings
from tests.integration.s3_policy_gate import ACCESS_KEY, SECRET_KEY, Gate, s3_behind_a_policy_gate
from tests.unit.files.images import HTML, png

pytestmark = pytest.mark.integration

BUCKET = "private-files"  # moto keeps one state per process: a name of its own
KEY = "incoming/" + "c" * 32


@pytest.fixture(scope="module")
def gate() -> Iterator[Gate]:
    with s3_behind_a_policy_gate(BUCKET) as running:
        yield running


def s3_storage(gate: Gate, upload_method: str = "post") -> S3FileStorage:
    settings = Settings(
        s3_endpoint_url=gate.url,
        s3_region="auto",  # R2's region, as boto3 is configured for it
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
        s3_bucket=BUCKET,
    )
    return S3FileStorage(s3_client(settings), BUCKET, public_base=None, upload_method=upload_method)


@pytest.fixture
def storage(gate: Gate) -> S3FileStorage:
    return s3_storage(gate)


def now() -> datetime:
    return datetime.now(UTC)


def post(form: Any, body: bytes, kind: str) -> httpx.Response:
    return httpx.post(
        form.url, data={**form.fields, "Content-Type": kind}, files={"file": ("p", body, kind)}
    )


def exists(gate: Gate, key: str) -> bool:
    listed = gate.client().list_objects_v2(Bucket=BUCKET, Prefix=key)
    return any(item["Key"] == key for item in listed.get("Contents", []))


def test_an_object_is_put_read_listed_and_deleted(storage: S3FileStorage, gate: Gate) -> None:
    key = "files/ab/" + "ab" * 32
    storage.put(key, png(1), content_type="image/png")

    assert storage.read(key, max_bytes=10_000) == png(1)
    assert len(storage.read(key, max_bytes=9) or b"") == 10  # at most max_bytes + 1
    head = gate.client().head_object(Bucket=BUCKET, Key=key)
    assert head["ContentType"] == "image/png"
    assert "immutable" in head["CacheControl"]
    # A private bucket is read through a short-lived presigned URL (GET /files/… redirects).
    assert httpx.get(f"{gate.moto_url}/{BUCKET}/{key}").status_code == 403
    assert httpx.get(storage.presigned_get(key)).content == png(1)
    storage.put(KEY, b"x", content_type="image/png")
    assert KEY in storage.pending("incoming/", before=now() + timedelta(seconds=5))
    assert KEY not in storage.pending("incoming/", before=now() - timedelta(hours=1))
    storage.delete(key)
    storage.delete(key)  # deleting twice is fine
    assert storage.read(key, max_bytes=10) is None


def form(storage: S3FileStorage, key: str = KEY, seconds: int = 600) -> Any:
    return storage.presign(
        key,
        content_type="image/png",
        max_bytes=1000,
        size=None,
        expires_at=now() + timedelta(seconds=seconds),
        now=now(),
    )


def test_a_form_within_its_policy_stores_the_file(storage: S3FileStorage, gate: Gate) -> None:
    key = "incoming/" + "d" * 32
    answer = post(form(storage, key), png(2), "image/png")

    assert answer.status_code == 204, answer.text
    assert storage.read(key, max_bytes=1000) == png(2)


@pytest.mark.parametrize(
    ("body", "kind", "status", "code"),
    [
        (png(3) + b"\0" * 1000, "image/png", 400, "EntityTooLarge"),
        (HTML, "text/html", 403, "AccessDenied"),
        (b"", "image/png", 400, "EntityTooSmall"),
    ],
)
def test_the_policy_refuses_at_the_storage_what_it_does_not_allow(
    storage: S3FileStorage, gate: Gate, body: bytes, kind: str, status: int, code: str
) -> None:
    key = "incoming/" + "f" * 32
    answer = post(form(storage, key), body, kind)

    assert answer.status_code == status
    assert f"<Code>{code}</Code>" in answer.text
    assert not exists(gate, key)


def test_a_form_reused_after_it_expired_is_refused(storage: S3FileStorage, gate: Gate) -> None:
    key = "incoming/" + "9" * 32
    presigned = form(storage, key, seconds=60)
    assert post(presigned, png(4), "image/png").status_code == 204
    storage.delete(key)

    gate.clock = lambda: datetime.now(UTC) + timedelta(minutes=2)
    try:
        again = post(presigned, png(4), "image/png")
    finally:
        gate.clock = lambda: datetime.now(UTC)

    assert again.status_code == 403
    assert "Policy expired" in again.text
    assert not exists(gate, key)


# --- R2: no form uploads, a presigned PUT of an exact size and type -------------------


def put_url(gate: Gate, key: str, size: int, seconds: int = 600) -> Any:
    return s3_storage(gate, "put").presign(
        key,
        content_type="image/png",
        max_bytes=1000,
        size=size,
        expires_at=now() + timedelta(seconds=seconds),
        now=now(),
    )


def test_a_presigned_put_stores_exactly_the_declared_file(gate: Gate) -> None:
    key = "incoming/" + "1" * 32
    upload = put_url(gate, key, len(png(5)))

    answer = httpx.put(upload.url, content=png(5), headers=upload.headers)

    assert upload.method == "PUT"
    assert "content-length%3Bcontent-type%3Bhost" in upload.url  # what the signature binds
    assert answer.status_code == 200, answer.text
    assert s3_storage(gate).read(key, max_bytes=1000) == png(5)


@pytest.mark.parametrize(
    ("body", "kind"),
    [(png(6) + b"\0" * 10, "image/png"), (png(6), "text/html")],
)
def test_a_presigned_put_refuses_another_size_or_type(gate: Gate, body: bytes, kind: str) -> None:
    key = "incoming/" + "2" * 32
    upload = put_url(gate, key, len(png(6)))

    answer = httpx.put(upload.url, content=body, headers={"Content-Type": kind})

    assert answer.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in answer.text
    assert not exists(gate, key)


def test_a_presigned_put_reused_after_expiry_is_refused(gate: Gate) -> None:
    key = "incoming/" + "3" * 32
    upload = put_url(gate, key, len(png(7)), seconds=60)
    gate.clock = lambda: datetime.now(UTC) + timedelta(minutes=2)
    try:
        answer = httpx.put(upload.url, content=png(7), headers=upload.headers)
    finally:
        gate.clock = lambda: datetime.now(UTC)

    assert answer.status_code == 403 and "expired" in answer.text
    assert not exists(gate, key)


def test_a_presigned_put_needs_the_size_up_front(gate: Gate) -> None:
    with pytest.raises(SizeRequired):
        put_url(gate, "incoming/" + "4" * 32, None)  # type: ignore[arg-type]
