"""The file service, built once from the settings: storage, limits, reads and URLs."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from commands.files.uploads import FilePolicy
from commands.ports import Secrets
from infra.file_reads import PostgresFileReads
from infra.file_storage import LocalFileStorage, S3FileStorage, public_url
from infra.pg import Pool
from infra.settings import Settings
from queries.images import FileUrl

log = logging.getLogger(__name__)


@dataclass
class Files:
    storage: S3FileStorage | LocalFileStorage
    policy: FilePolicy
    reads: PostgresFileReads
    url_for: FileUrl
    sweep_seconds: float


def file_policy(settings: Settings) -> FilePolicy:
    return FilePolicy(
        max_upload_bytes=settings.files_max_upload_bytes,
        review_photo_max_bytes=settings.files_review_photo_max_bytes,
        presign_seconds=settings.files_presign_seconds,
        sweep_grace=timedelta(seconds=settings.files_sweep_grace_seconds),
    )


def build_files(settings: Settings, pool: Pool, secrets: Secrets) -> Files:
    """S3_BUCKET set: the bucket (S3_ENDPOINT_URL, S3_REGION, keys); else DATA_DIR/files."""
    storage: S3FileStorage | LocalFileStorage
    if settings.s3_bucket:
        from infra.object_storage import s3_client

        storage = S3FileStorage(
            s3_client(settings),
            settings.s3_bucket,
            public_base=settings.files_public_url,
            upload_method=settings.files_upload_method,
        )
    else:
        root = settings.data_dir / "files"
        log.info("S3_BUCKET is unset: files under %s, served at /files", root)
        storage = LocalFileStorage(
            root, secrets.order_token_key(), public_base=settings.files_public_url
        )
    url_for = partial(public_url, settings.files_public_url)
    return Files(
        storage=storage,
        policy=file_policy(settings),
        reads=PostgresFileReads(pool, url_for),
        url_for=url_for,
        sweep_seconds=settings.files_sweep_seconds,
    )
