"""Files on the local-disk default (no S3 configured): uploads, product images, the sweep,
presigned uploads and review photos, end to end over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from commands.files.uploads import Ticket, sign_ticket
from infra.file_sweeper import sweep_files
from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import LiveServer, Shop, open_shop, server_of_its_own
from tests.e2e.console_flow import signed_in
from tests.e2e.files_flow import (
    post_form,
    product_page,
    read_url,
    show_images,
    upload,
    uploaded,
)
from tests.e2e.test_reviews import placed_order, review, reviews_of, submit
from tests.unit.files.images import HTML, JPEG, PDF, png

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(
    database_url: str,
    redis_url: str,
    stripe_emulator: RunningEmulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("files-data")
    with server_of_its_own(
        database_url,
        redis_url,
        stripe_emulator,
        data_dir=data_dir,
        files_max_upload_bytes=4096,
        files_review_photo_max_bytes=2048,
        files_sweep_seconds=3600,  # the tests sweep when they mean to
    ) as live:
        yield live


def stored_objects(server: LiveServer) -> list[Path]:
    root = Path(server.container.settings.data_dir) / "files"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def uploaded_events(server: LiveServer) -> int:
    with server.container.pool.connection() as conn:
        row = conn.execute(
            "SELECT count(*) FROM orderledger_events WHERE topic LIKE %s", ("%StoredFile.Uploaded",)
        ).fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
def shop(server: LiveServer) -> Shop:
    return open_shop(server)


def test_an_upload_answers_its_file_and_the_url_serves_the_bytes(server: LiveServer) -> None:
    body = png(1)
    file = uploaded(server, body)

    assert file["content_type"] == "image/png"
    assert file["size"] == len(body)
    assert file["sha256"] == hashlib.sha256(body).hexdigest()
    served = read_url(server, file["url"])
    assert served.status_code == 200
    assert served.content == body
    assert served.headers["content-type"] == "image/png"


def test_the_same_file_uploaded_twice_is_stored_once(server: LiveServer) -> None:
    body = png(2)
    first = uploaded(server, body)
    objects, events = stored_objects(server), uploaded_events(server)

    second = uploaded(server, body, name="again.png")
    both = upload(server, ("x.png", body, "image/png"), ("y.png", body, "image/png"))

    assert second["id"] == first["id"]
    assert both.status_code == 201
    assert {f["id"] for f in both.json()["files"]} == {first["id"]}
    assert stored_objects(server) == objects
    assert uploaded_events(server) == events


@pytest.mark.parametrize(
    ("files", "status", "error"),
    [
        ([("page.png", HTML, "image/png")], 415, "UnsupportedFileType"),
        ([("a.png", JPEG, "image/png")], 415, "UnsupportedFileType"),
        ([("empty.png", b"", "image/png")], 400, "EmptyFile"),
        ([("big.png", png(3) + b"\0" * 5000, "image/png")], 413, "FileTooLarge"),
        ([("../../etc/passwd.png", png(4), "image/png")], 400, "UnsafeFilename"),
        ([(f"{n}.png", png(100 + n), "image/png") for n in range(11)], 400, "TooManyFiles"),
        # One bad file refuses the batch: the good one is not kept either.
        (
            [("good.png", png(5), "image/png"), ("bad.png", HTML, "image/png")],
            415,
            "UnsupportedFileType",
        ),
    ],
)
def test_a_bad_upload_is_refused_and_nothing_is_stored(
    server: LiveServer, files: list[tuple[str, bytes, str]], status: int, error: str
) -> None:
    objects, events = stored_objects(server), uploaded_events(server)

    answer = upload(server, *files)

    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    assert stored_objects(server) == objects
    assert uploaded_events(server) == events


def test_uploads_need_an_admin_key(server: LiveServer) -> None:
    with server.client() as client:
        answer = client.post("/admin/uploads", files=[("files", ("a.png", png(6), "image/png"))])
    assert answer.status_code == 401


def test_product_images_show_in_order_on_the_storefront_and_the_sweep_deletes_unused_ones(
    server: LiveServer, shop: Shop
) -> None:
    tee, book = f"tee-{shop.suffix}", f"book-{shop.suffix}"
    front, back = uploaded(server, png(10)), uploaded(server, png(11))

    shown = show_images(server, tee, [back["id"], front["id"]])
    assert shown.status_code == 200, shown.text
    page = product_page(server, tee, shown.headers["X-Ledger-Position"])
    assert [image["id"] for image in page["images"]] == [back["id"], front["id"]]
    assert page["thumbnail"] == back["url"] == page["images"][0]["url"]
    assert read_url(server, page["thumbnail"]).content == png(11)
    with server.client() as client:
        listed = client.get("/store/products", params={"limit": 100}).json()["data"]
    assert next(p for p in listed if p["id"] == tee)["images"] == page["images"]

    # The back image also shows on the book; taking it off the tee keeps it stored.
    assert show_images(server, book, [back["id"]]).status_code == 200
    detached = show_images(server, tee, [front["id"]])
    page = product_page(server, tee, detached.headers["X-Ledger-Position"])
    assert [image["id"] for image in page["images"]] == [front["id"]]
    cleared = show_images(server, book, [])
    product_page(server, book, cleared.headers["X-Ledger-Position"])
    assert read_url(server, back["url"]).status_code == 200  # kept until the sweep

    server.container.projections.catch_up("stored_files")
    swept = sweep_files(server.container, grace=timedelta(0))

    assert back["id"] in swept.files
    assert front["id"] not in swept.files  # still the tee's
    assert read_url(server, back["url"]).status_code == 404
    assert read_url(server, front["url"]).content == png(10)
    # A swept file is gone for good until uploaded again.
    refused = show_images(server, tee, [back["id"]])
    assert refused.status_code == 409, refused.text
    again = uploaded(server, png(11))
    assert again["id"] == back["id"]
    assert read_url(server, again["url"]).content == png(11)


def test_product_images_show_on_the_medusa_surface_too(server: LiveServer, shop: Shop) -> None:
    tee = f"tee-{shop.suffix}"
    front, back = uploaded(server, png(12)), uploaded(server, png(13))
    shown = show_images(server, tee, [front["id"], back["id"]])
    assert shown.status_code == 200, shown.text
    product_page(server, tee, shown.headers["X-Ledger-Position"])  # the views caught up
    key = server.container.publishable_keys.create("files", [shop.channel])[1]

    with server.client() as client:
        answer = client.get(f"/medusa/store/products/{tee}", headers={"x-publishable-api-key": key})

    assert answer.status_code == 200, answer.text
    product = answer.json()["product"]
    assert product["thumbnail"] == front["url"]
    assert [(i["id"], i["url"], i["rank"]) for i in product["images"]] == [
        (front["id"], front["url"], 0),
        (back["id"], back["url"], 1),
    ]
    assert read_url(server, product["thumbnail"]).content == png(12)


def test_the_catalog_import_sets_product_images(server: LiveServer, shop: Shop) -> None:
    image = uploaded(server, JPEG, name="tee.jpg")
    catalog = shop.catalog(stock=1, backorder=False)
    catalog["products"][0]["images"] = [image["id"]]
    with server.admin() as admin:
        imported = admin.post("/admin/catalog", json=catalog)
        unknown = dict(catalog)
        unknown["products"] = [{**catalog["products"][0], "images": ["not-a-file"]}]
        refused = admin.post("/admin/catalog", json=unknown)
        document = uploaded(server, PDF, name="manual.pdf")
        not_image = admin.put(
            f"/admin/products/tee-{shop.suffix}/images", json={"images": [document["id"]]}
        )

    assert imported.status_code == 200, imported.text
    page = product_page(server, f"tee-{shop.suffix}", imported.headers["X-Ledger-Position"])
    assert page["thumbnail"] == image["url"]
    assert refused.status_code == 400, refused.text
    assert not_image.status_code == 400, not_image.text


def test_a_presigned_upload_is_posted_to_storage_then_confirmed(server: LiveServer) -> None:
    body = png(20)
    with server.admin() as admin:
        presigned = admin.post("/admin/uploads/presign", json={"content_type": "image/png"})
        assert presigned.status_code == 201, presigned.text
        form = presigned.json()
        too_large = post_form(server, form, png(21) + b"\0" * 5000, "image/png")
        wrong_type = post_form(server, form, body, "text/html")
        posted = post_form(server, form, body, "image/png")
        confirmed = admin.post("/admin/uploads/confirm", json={"upload_id": form["upload_id"]})
        twice = admin.post("/admin/uploads/confirm", json={"upload_id": form["upload_id"]})

    assert too_large.status_code == 400 and too_large.json()["error"] == "EntityTooLarge"
    assert wrong_type.status_code == 403, wrong_type.text
    assert posted.status_code == 204, posted.text
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["sha256"] == hashlib.sha256(body).hexdigest()
    assert read_url(server, confirmed.json()["url"]).content == body
    assert twice.status_code == 404, twice.text


def test_an_expired_presigned_upload_is_refused_at_storage_and_at_confirmation(
    server: LiveServer,
) -> None:
    services = server.container.services
    storage = server.container.files.storage
    now = services.clock()
    key = "incoming/" + "e" * 32
    expired = now - timedelta(seconds=1)
    post = storage.presign(
        key, content_type="image/png", max_bytes=4096, size=None, expires_at=expired, now=now
    )
    storage.put(key, png(30), content_type="image/png")  # posted while it was valid
    upload_id = sign_ticket(
        services,
        Ticket(
            key=key, purpose="admin", content_type="image/png", max_bytes=4096, expires_at=expired
        ),
    )
    events = uploaded_events(server)

    at_storage = post_form(server, {"url": post.url, "fields": post.fields}, png(31), "image/png")
    with server.admin() as admin:
        at_confirm = admin.post("/admin/uploads/confirm", json={"upload_id": upload_id})
        forged = admin.post("/admin/uploads/confirm", json={"upload_id": upload_id + "x"})

    assert at_storage.status_code == 403 and "expired" in at_storage.json()["detail"]
    assert at_confirm.status_code == 410, at_confirm.text
    assert forged.status_code == 400, forged.text
    assert storage.read(key, max_bytes=10) is None  # the expired upload was removed
    assert uploaded_events(server) == events


def presign_photo(
    server: LiveServer, product: str, review_id: str, token: str, kind: str = "image/png"
) -> Any:
    with server.client() as client:
        return client.post(
            f"/store/products/{product}/reviews/{review_id}/photos/presign",
            json={"content_type": kind},
            headers={"X-Order-Token": token},
        )


def attach(server: LiveServer, product: str, review_id: str, token: str, ids: list[str]) -> Any:
    with server.client() as client:
        return client.post(
            f"/store/products/{product}/reviews/{review_id}/photos",
            json={"upload_ids": ids},
            headers={"X-Order-Token": token},
        )


def posted_photo(server: LiveServer, product: str, review_id: str, token: str, body: bytes) -> str:
    form = presign_photo(server, product, review_id, token)
    assert form.status_code == 201, form.text
    assert post_form(server, form.json(), body, "image/png").status_code == 204
    return str(form.json()["upload_id"])


def test_review_photos_show_only_once_the_review_is_approved(
    server: LiveServer, shop: Shop
) -> None:
    product = f"tee-{shop.suffix}"
    order = placed_order(server, shop)
    token = order["access_token"]
    with server.client() as client:
        submitted = submit(client, product, review(order_id=order["order_id"]), token=token)
    review_id = submitted.json()["id"]

    uploads = [posted_photo(server, product, review_id, token, png(40 + n)) for n in range(2)]
    attached = attach(server, product, review_id, token, uploads)
    assert attached.status_code == 200, attached.text
    assert len(attached.json()["photos"]) == 2
    with server.client() as client:
        pending = reviews_of(client, product, attached.headers["X-Ledger-Position"])
    assert pending["data"] == []
    with server.admin() as admin:
        queue = admin.get(
            "/admin/reviews",
            params={"product_id": product, "min_position": attached.headers["X-Ledger-Position"]},
        )
        approved = admin.post(f"/admin/reviews/{review_id}/approve")
    assert len(queue.json()["data"][0]["photos"]) == 2  # the moderator sees them
    assert server.container.read_models.wait_for(
        int(approved.headers["X-Ledger-Position"]), ["reviews", "review_photos"], timeout=30
    )  # the console reads the views as they stand
    with signed_in(server) as console:
        page = console.get("/console/reviews", params={"status": "approved"})
    assert page.status_code == 200, page.text
    shown_urls = [p["url"] for p in queue.json()["data"][0]["photos"]]
    assert all(f'src="{url}"' in page.text for url in shown_urls)  # and so does the console

    with server.client() as client:
        shown = reviews_of(client, product, approved.headers["X-Ledger-Position"])
    photos = shown["data"][0]["photos"]
    assert [read_url(server, p["url"]).content for p in photos] == [png(40), png(41)]
    # Moderated: it takes no more photos.
    assert presign_photo(server, product, review_id, token).status_code == 409


def test_rejecting_a_review_detaches_its_photos(server: LiveServer, shop: Shop) -> None:
    product = f"tee-{shop.suffix}"
    order = placed_order(server, shop)
    token = order["access_token"]
    with server.client() as client:
        submitted = submit(client, product, review(order_id=order["order_id"]), token=token)
    review_id = submitted.json()["id"]
    upload_id = posted_photo(server, product, review_id, token, png(50))
    attached = attach(server, product, review_id, token, [upload_id])
    file_id = attached.json()["photos"][0]["id"]

    with server.admin() as admin:
        rejected = admin.post(f"/admin/reviews/{review_id}/reject", json={"reason": "spam"})
    assert rejected.status_code == 200, rejected.text

    from uuid import UUID

    from domain.stored_file import StoredFile

    file = server.container.ledger.get_or_none(UUID(file_id), StoredFile)
    assert file is not None and file.owners == []
    server.container.projections.catch_up("stored_files")
    assert file_id in sweep_files(server.container, grace=timedelta(0)).files


def test_review_photos_refuse_bad_input_and_attach_nothing(server: LiveServer, shop: Shop) -> None:
    product = f"tee-{shop.suffix}"
    order = placed_order(server, shop)
    token = order["access_token"]
    with server.client() as client:
        submitted = submit(client, product, review(order_id=order["order_id"]), token=token)
        anonymous = submit(client, product, review())
    review_id = submitted.json()["id"]

    assert presign_photo(server, product, review_id, "wrong-token").status_code == 404
    assert presign_photo(server, product, review_id, token, "application/pdf").status_code == 415
    assert presign_photo(server, product, anonymous.json()["id"], token).status_code == 400
    # An HTML page posted as a PNG passes the storage's type check but not the bytes'.
    form = presign_photo(server, product, review_id, token).json()
    assert post_form(server, form, HTML, "image/png").status_code == 204
    too_big = presign_photo(server, product, review_id, token).json()
    assert post_form(server, too_big, png(60) + b"\0" * 3000, "image/png").status_code == 400
    lying = attach(server, product, review_id, token, [form["upload_id"]])
    assert lying.status_code == 415, lying.text
    never_posted = attach(server, product, review_id, token, [too_big["upload_id"]])
    assert never_posted.status_code == 404, never_posted.text

    good = [posted_photo(server, product, review_id, token, png(70 + n)) for n in range(4)]
    assert attach(server, product, review_id, token, good).status_code == 200
    fifth = presign_photo(server, product, review_id, token)
    assert fifth.status_code == 400 and fifth.json()["error"] == "TooManyPhotos"
    with server.admin() as admin:
        queue = admin.get(
            "/admin/reviews", params={"product_id": product, "status": "pending"}
        ).json()
    ours = next(r for r in queue["data"] if r["id"] == review_id)
    assert len(ours["photos"]) in (0, 4)  # all or none (the view may lag), never half
