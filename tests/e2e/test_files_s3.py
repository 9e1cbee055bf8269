"""Files in an S3 bucket (moto on 127.0.0.1, behind a gate that enforces POST policies):
upload, attach, read through the storefront, detach and sweep; review photos by form."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from infra.file_sweeper import sweep_files
from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import LiveServer, open_shop, server_of_its_own
from tests.e2e.files_flow import post_form, product_page, read_url, show_images, uploaded
from tests.e2e.test_reviews import placed_order, review, reviews_of, submit
from tests.integration.s3_policy_gate import ACCESS_KEY, SECRET_KEY, Gate, s3_behind_a_policy_gate
from tests.unit.files.images import HTML, png

pytestmark = pytest.mark.e2e

BUCKET = "shop-files"


@pytest.fixture(scope="module")
def gate() -> Iterator[Gate]:
    with s3_behind_a_policy_gate(BUCKET, public=True) as running:
        yield running


@contextmanager
def server_on_bucket(
    database_url: str, redis_url: str, emulator: RunningEmulator, gate: Gate, **options: Any
) -> Iterator[LiveServer]:
    """A server of its own keeping files in the gate's bucket, as R2 is set up (region auto;
    no sweep but the tests')."""
    with server_of_its_own(
        database_url,
        redis_url,
        emulator,
        s3_endpoint_url=gate.url,
        s3_region="auto",
        s3_access_key_id=ACCESS_KEY,
        s3_secret_access_key=SECRET_KEY,
        s3_bucket=BUCKET,
        files_public_url=f"{gate.moto_url}/{BUCKET}",
        files_sweep_seconds=3600,
        **options,
    ) as live:
        yield live


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator, gate: Gate
) -> Iterator[LiveServer]:
    with server_on_bucket(
        database_url, redis_url, stripe_emulator, gate, files_review_photo_max_bytes=2048
    ) as live:
        yield live


def keys(gate: Gate, prefix: str = "files/") -> list[str]:
    listed = gate.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_an_image_goes_from_upload_to_the_storefront_and_is_swept_when_unused(
    server: LiveServer, gate: Gate
) -> None:
    shop = open_shop(server)
    tee = f"tee-{shop.suffix}"
    before = keys(gate)
    image = uploaded(server, png(1))
    twice = uploaded(server, png(1), name="copy.png")
    assert twice["id"] == image["id"]
    assert len(keys(gate)) == len(before) + 1  # the same bytes stored once
    assert image["url"].startswith(f"{gate.moto_url}/{BUCKET}/files/")

    shown = show_images(server, tee, [image["id"]])
    page = product_page(server, tee, shown.headers["X-Ledger-Position"])
    assert page["thumbnail"] == image["url"]
    assert read_url(server, page["thumbnail"]).content == png(1)

    detached = show_images(server, tee, [])
    product_page(server, tee, detached.headers["X-Ledger-Position"])
    server.container.projections.catch_up("stored_files")
    swept = sweep_files(server.container, grace=timedelta(0))

    assert image["id"] in swept.files
    assert len(keys(gate)) == len(before)
    assert read_url(server, image["url"]).status_code == 404


def test_review_photos_by_presigned_form_follow_moderation(server: LiveServer, gate: Gate) -> None:
    shop = open_shop(server)
    product = f"tee-{shop.suffix}"
    order = placed_order(server, shop)
    token = order["access_token"]
    with server.client() as client:
        review_id = submit(client, product, review(order_id=order["order_id"]), token=token).json()[
            "id"
        ]
        presign = f"/store/products/{product}/reviews/{review_id}/photos/presign"
        headers = {"X-Order-Token": token}
        forms = [
            client.post(presign, json={"content_type": "image/png"}, headers=headers).json()
            for _ in range(3)
        ]
        # At the bucket: over the cap and the wrong type never get stored.
        too_large = post_form(server, forms[0], png(2) + b"\0" * 4000, "image/png")
        wrong_type = post_form(server, forms[1], HTML, "text/html")
        posted = post_form(server, forms[2], png(3), "image/png")
        refused = client.post(
            f"/store/products/{product}/reviews/{review_id}/photos",
            json={"upload_ids": [forms[0]["upload_id"]]},
            headers=headers,
        )
        attached = client.post(
            f"/store/products/{product}/reviews/{review_id}/photos",
            json={"upload_ids": [forms[2]["upload_id"]]},
            headers=headers,
        )
        hidden = reviews_of(client, product, attached.headers["X-Ledger-Position"])
    assert too_large.status_code == 400 and "EntityTooLarge" in too_large.text
    assert wrong_type.status_code == 403
    assert posted.status_code == 204, posted.text
    assert refused.status_code == 404  # nothing was posted for it
    assert attached.status_code == 200, attached.text
    assert hidden["data"] == []
    assert keys(gate, "incoming/") == []  # confirmed or refused: none left behind

    with server.admin() as admin:
        approved = admin.post(f"/admin/reviews/{review_id}/approve")
    with server.client() as client:
        shown = reviews_of(client, product, approved.headers["X-Ledger-Position"])
    assert [read_url(server, p["url"]).content for p in shown["data"][0]["photos"]] == [png(3)]


@pytest.fixture(scope="module")
def r2_server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator, gate: Gate
) -> Iterator[LiveServer]:
    """As R2 is set up: uploads by presigned PUT (R2 takes no form POST)."""
    with server_on_bucket(
        database_url,
        redis_url,
        stripe_emulator,
        gate,
        files_upload_method="put",
        files_max_upload_bytes=4096,
    ) as live:
        yield live


def test_on_r2_the_dashboard_uploads_by_a_presigned_put_of_the_declared_size(
    r2_server: LiveServer, gate: Gate
) -> None:
    body = png(80)
    with r2_server.admin() as admin:
        no_size = admin.post("/admin/uploads/presign", json={"content_type": "image/png"})
        too_big = admin.post(
            "/admin/uploads/presign", json={"content_type": "image/png", "size": 5000}
        )
        answer = admin.post(
            "/admin/uploads/presign", json={"content_type": "image/png", "size": len(body)}
        )
        upload = answer.json()
        with httpx.Client(timeout=10) as client:
            longer = client.put(
                upload["url"], content=body + b"\0", headers={"Content-Type": "image/png"}
            )
            put = client.put(upload["url"], content=body, headers=upload["headers"])
        confirmed = admin.post("/admin/uploads/confirm", json={"upload_id": upload["upload_id"]})

    assert no_size.status_code == 400 and no_size.json()["error"] == "SizeRequired"
    assert too_big.status_code == 413
    assert answer.status_code == 201 and upload["method"] == "PUT"
    assert longer.status_code == 403  # the signature covers the declared size
    assert put.status_code == 200, put.text
    assert confirmed.status_code == 201, confirmed.text
    assert read_url(r2_server, confirmed.json()["url"]).content == body
