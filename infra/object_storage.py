"""S3-compatible object storage (S3, R2, MinIO, moto) behind ``queries.audit.ports.ObjectStorage``."""

import hashlib
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from infra.settings import Settings


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")``; ValueError otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"expected s3://BUCKET/PREFIX, got {url!r}")
    return parts.netloc, parts.path.strip("/")


def s3_client(settings: Settings) -> Any:
    """A boto3 S3 client from S3_ENDPOINT_URL, S3_REGION and the S3 keys.

    Checksums only when required: R2 (and other S3-compatibles) reject the CRC
    headers newer boto3 versions send by default.
    """
    key = settings.s3_access_key_id
    secret = settings.s3_secret_access_key
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=key.get_secret_value() if key else None,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        ),
    )


class S3ObjectStorage:
    """One bucket; objects carry their SHA-256 as metadata for anyone checking a copy."""

    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, body: bytes, *, content_type: str) -> None:
        self._client.put_object(
            Bucket=self._bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            Metadata={"sha256": hashlib.sha256(body).hexdigest()},
        )
