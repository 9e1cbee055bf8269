"""Steps shared by the file tests (local disk and S3): upload, post a presigned form."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LiveServer


def upload(server: LiveServer, *files: tuple[str, bytes, str]) -> httpx.Response:
    with server.admin() as admin:
        return admin.post(
            "/admin/uploads",
            files=[("files", (name, body, kind)) for name, body, kind in files],
        )


def uploaded(
    server: LiveServer, body: bytes, name: str = "a.png", kind: str = "application/octet-stream"
) -> dict[str, Any]:
    answer = upload(server, (name, body, kind))
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["files"][0])


def absolute(server: LiveServer, url: str) -> str:
    return url if url.startswith("http") else f"{server.url}{url}"


def read_url(server: LiveServer, url: str) -> httpx.Response:
    with httpx.Client(timeout=10, follow_redirects=True) as client:
        return client.get(absolute(server, url))


def post_form(
    server: LiveServer, presigned: dict[str, Any], body: bytes, kind: str
) -> httpx.Response:
    """What the browser does with a presigned form: its fields, then the file; ``kind``
    goes in the form's Content-Type field (the one storage checks against the policy)."""
    with httpx.Client(timeout=10) as client:
        return client.post(
            absolute(server, presigned["url"]),
            data={**presigned["fields"], "Content-Type": kind},
            files={"file": ("photo", body, kind)},
        )


def show_images(server: LiveServer, product_id: str, file_ids: list[str]) -> httpx.Response:
    with server.admin() as admin:
        return admin.put(f"/admin/products/{product_id}/images", json={"images": file_ids})


def product_page(server: LiveServer, product_id: str, position: str) -> dict[str, Any]:
    with server.client() as client:
        answer = client.get(f"/store/products/{product_id}", params={"min_position": position})
    assert answer.status_code == 200, answer.text
    assert answer.headers.get("X-View-Caught-Up") == "true"
    return dict(answer.json())
