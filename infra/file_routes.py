"""``/files``: files read through this service, and presigned uploads to the local folder.

``GET /files/…``: from the folder under DATA_DIR, or — with a bucket and no
FILES_PUBLIC_URL — a redirect to a short-lived presigned URL of the object.
``POST /files``: the local folder's stand-in for a bucket's form upload; the signed
policy is checked as S3 checks it (expiry, type, size) before a byte is kept.
"""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from starlette.datastructures import UploadFile

from domain.file_types import sniff
from infra.file_storage import IMMUTABLE, PUBLIC_PREFIX, LocalFileStorage, S3FileStorage
from infra.http_errors import error_response
from infra.post_policy import PolicyRefused, check_post

router = APIRouter(tags=["files"])

Rest = Annotated[str, Path(pattern=r"^[0-9a-f]{2}/[0-9a-f]{64}$")]


@router.get("/files/{rest:path}", include_in_schema=False)
def read_file(rest: Rest, request: Request) -> Response:
    storage = request.app.state.files.storage
    key = f"{PUBLIC_PREFIX}{rest}"
    if isinstance(storage, S3FileStorage):
        return RedirectResponse(storage.presigned_get(key), status_code=302)
    head = storage.read(key, max_bytes=31)
    if head is None:
        return error_response(404, "NotFound", "There is no such file.")
    # Streamed from disk; the type is the bytes' own (every stored file was checked).
    return FileResponse(
        storage.path_of(key),
        media_type=sniff(head) or "application/octet-stream",
        headers={"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"},
    )


@router.post("/files", include_in_schema=False)
async def receive_form(request: Request) -> Response:
    storage = request.app.state.files.storage
    if not isinstance(storage, LocalFileStorage):
        return error_response(404, "NotFound", "Uploads go to the bucket directly.")
    form = await request.form(max_files=1, max_fields=20)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return error_response(400, "InvalidArgument", "The form has no field 'file'.")
        fields = {name: value for name, value in form.items() if isinstance(value, str)}
        body = await upload.read()
        try:
            key = check_post(
                fields, size=len(body), now=datetime.now(UTC), secret_for=storage.secret_for
            )
        except PolicyRefused as refused:
            return error_response(refused.status, refused.code, str(refused))
        if not key.startswith("incoming/"):
            return error_response(403, "AccessDenied", "Forms upload to incoming/ only.")
        storage.put(key, body, content_type=fields.get("Content-Type", ""))
        return Response(status_code=204)
    finally:
        await form.close()
