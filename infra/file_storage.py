"""Where files live: an S3-compatible bucket (S3, R2, MinIO, moto) or a folder under DATA_DIR.

Both satisfy ``commands.files.ports.FileStorage``; ``public_url`` says where a
storefront reads a file: ``FILES_PUBLIC_URL`` + key when set (an R2 public bucket,
a CDN), else ``/files/…`` on this service, which serves the folder itself or sends
the browser to a short-lived presigned URL of the bucket.
"""

import hashlib
import hmac
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from commands.files.ports import PresignedUpload, SizeRequired
from infra.post_policy import Credentials, sign_post

# Keys this service makes (content-addressed files, incoming uploads): nothing else
# is ever read or written, so no key can climb out of the folder.
_KEY = re.compile(r"^(files/[0-9a-f]{2}/[0-9a-f]{64}|incoming/[0-9a-f]{32})$")
PUBLIC_PREFIX = "files/"
# Content-addressed: the bytes at a key never change, so caches may keep them.
IMMUTABLE = "public, max-age=31536000, immutable"


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a file key: {key!r}")
    return key


def public_url(base: str | None, key: str) -> str:
    """Where a storefront reads the object at ``key``."""
    return f"{(base or '').rstrip('/')}/{key}"


class S3FileStorage:
    def __init__(
        self, client: Any, bucket: str, *, public_base: str | None, upload_method: str = "post"
    ) -> None:
        self._client = client
        self._bucket = bucket
        self.public_base = public_base
        self.upload_method = upload_method

    def put(self, key: str, body: bytes, *, content_type: str) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=check_key(key),
            Body=body,
            ContentType=content_type,
            CacheControl=IMMUTABLE,
            Metadata={"sha256": hashlib.sha256(body).hexdigest()},
        )

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        try:
            answer = self._client.get_object(
                Bucket=self._bucket, Key=check_key(key), Range=f"bytes=0-{max_bytes}"
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "InvalidRange":  # an empty object has no byte 0
                return b""
            if code in ("NoSuchKey", "404"):
                return None
            raise
        body: bytes = answer["Body"].read()
        return body

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=check_key(key))

    def presign(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        size: int | None,
        expires_at: datetime,
        now: datetime,
    ) -> PresignedUpload:
        seconds = max(1, int((expires_at - now).total_seconds()))
        if self.upload_method == "put":
            # R2 takes no form uploads: a PUT whose signature covers the exact size and
            # type (botocore signs Content-Length and Content-Type given as parameters).
            if size is None:
                raise SizeRequired("This storage signs uploads for an exact size: give 'size'.")
            url: str = self._client.generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": check_key(key),
                    "ContentType": content_type,
                    "ContentLength": size,
                },
                ExpiresIn=seconds,
            )
            return PresignedUpload(
                url=url,
                expires_at=expires_at,
                method="PUT",
                headers={"Content-Type": content_type, "Content-Length": str(size)},
            )
        answer = self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=check_key(key),
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=max(1, int((expires_at - now).total_seconds())),
        )
        return PresignedUpload(
            url=answer["url"], fields=dict(answer["fields"]), expires_at=expires_at
        )

    def pending(self, prefix: str, *, before: datetime) -> list[str]:
        keys: list[str] = []
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                if item["LastModified"] < before and _KEY.match(item["Key"]):
                    keys.append(item["Key"])
        return keys

    def presigned_get(self, key: str, *, seconds: int = 300) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": check_key(key)}, ExpiresIn=seconds
        )
        return url


class LocalFileStorage:
    """A folder under DATA_DIR, with presigned uploads this service receives and checks
    itself (``POST /files``: the same form fields and policy a bucket takes)."""

    ACCESS_KEY = "orderledger-local"
    REGION = "local"

    def __init__(self, root: Path, secret: bytes, *, public_base: str | None) -> None:
        self._root = root
        self._secret = hmac.new(secret, b"local-files", "sha256").hexdigest()
        self.public_base = public_base

    def path_of(self, key: str) -> Path:
        return self._root / check_key(key)

    def put(self, key: str, body: bytes, *, content_type: str) -> None:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed: a reader never sees half a file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(body)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def read(self, key: str, *, max_bytes: int) -> bytes | None:
        try:
            with self.path_of(key).open("rb") as source:
                return source.read(max_bytes + 1)
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self.path_of(key).unlink(missing_ok=True)

    def presign(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        size: int | None,
        expires_at: datetime,
        now: datetime,
    ) -> PresignedUpload:
        fields = sign_post(
            self.credentials,
            key=check_key(key),
            content_type=content_type,
            max_bytes=max_bytes,
            expires_at=expires_at,
            now=now,
        )
        return PresignedUpload(
            url=public_url(self.public_base, "files"), fields=fields, expires_at=expires_at
        )

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.ACCESS_KEY, self._secret, self.REGION)

    def secret_for(self, access_key: str) -> str | None:
        return self._secret if access_key == self.ACCESS_KEY else None

    def pending(self, prefix: str, *, before: datetime) -> list[str]:
        folder = self._root / prefix.rstrip("/")
        if not folder.is_dir():
            return []
        cutoff = before.astimezone(UTC).timestamp()
        return [
            f"{prefix}{path.name}"
            for path in folder.iterdir()
            if _KEY.match(f"{prefix}{path.name}") and path.stat().st_mtime < cutoff
        ]
