"""Dependencies of the file routers: the storage, its limits, and where files are read."""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from commands.files.ports import FileStorage, PresignedUpload
from commands.files.uploads import FilePolicy, Presigned
from domain.stored_file import StoredFile

FileUrl = Callable[[str], str]


async def get_storage(request: Request) -> FileStorage:
    storage: FileStorage = request.app.state.files.storage
    return storage


async def get_policy(request: Request) -> FilePolicy:
    policy: FilePolicy = request.app.state.files.policy
    return policy


async def get_file_url(request: Request) -> FileUrl:
    url_for: FileUrl = request.app.state.files.url_for
    return url_for


StorageDep = Annotated[FileStorage, Depends(get_storage)]
PolicyDep = Annotated[FilePolicy, Depends(get_policy)]
FileUrlDep = Annotated[FileUrl, Depends(get_file_url)]


def file_out(file: StoredFile, url_for: FileUrl) -> dict[str, Any]:
    return {
        "id": str(file.id),
        "url": url_for(file.key),
        "content_type": file.content_type,
        "size": file.size,
        "sha256": file.sha256,
    }


def presigned_out(presigned: Presigned, max_bytes: int) -> dict[str, Any]:
    post: PresignedUpload = presigned.post
    return {
        "upload_id": presigned.upload_id,
        "method": post.method,
        "url": post.url,
        "fields": post.fields,
        "headers": post.headers,
        "max_bytes": max_bytes,
        "expires_at": post.expires_at.isoformat(),
    }
