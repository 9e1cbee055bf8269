"""The console's inventory, review moderation and task pages over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import LiveServer, Shop, open_shop
from tests.e2e.console_flow import (
    console_server,
    csrf_in,
    signed_in,
)


@pytest.fixture(scope="module")
def live_server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    with console_server(database_url, redis_url, stripe_emulator, redis_db=9) as server:
        yield server


@pytest.fixture
def make_shop(live_server: LiveServer) -> Callable[..., Shop]:
    return lambda **kwargs: open_shop(live_server, **kwargs)


def test_inventory_is_adjusted_and_backorders_toggled_through_the_use_case(
    live_server: LiveServer, make_shop: Any
) -> None:
    shop: Shop = make_shop(stock=10)
    with signed_in(live_server) as client:
        token = csrf_in(client.get("/console/inventory", params={"variant": shop.variant}).text)
        level = {"variant_id": shop.variant, "location_id": shop.berlin, "variant": shop.variant}
        adjusted = client.post(
            "/console/inventory", data={"csrf": token, **level, "adjustment": "-3"}
        )
        toggled = client.post(
            "/console/inventory", data={"csrf": token, **level, "allow_backorder": "on"}
        )
        nonsense = client.post(
            "/console/inventory", data={"csrf": token, **level, "adjustment": "x"}
        )
        unknown = client.post(
            "/console/inventory",
            data={"csrf": token, **level, "location_id": "nowhere", "adjustment": "1"},
        )
        nothing = client.post("/console/inventory", data={"csrf": token, **level, "adjustment": ""})
        page = client.get("/console/inventory", params={"variant": shop.variant})
    assert adjusted.status_code == 303 and toggled.status_code == 303
    assert nonsense.status_code == 400 and "InvalidQuantity" in nonsense.text
    assert unknown.status_code == 400
    assert nothing.status_code == 400 and "NothingToChange" in nothing.text
    with live_server.admin() as admin:
        levels = admin.get("/admin/inventory-levels", params={"variant_id": shop.variant}).json()
    berlin = next(row for row in levels if row["location_id"] == shop.berlin)
    assert berlin["stocked_quantity"] == 7 and berlin["allow_backorder"] is True
    assert "Turn off" in page.text and "Backorders" in page.text


def test_reviews_are_approved_and_rejected_from_the_queue(
    live_server: LiveServer, make_shop: Any
) -> None:
    shop: Shop = make_shop()
    product = f"tee-{shop.suffix}"
    with live_server.client() as store:
        ids = [
            store.post(
                f"/store/products/{product}/reviews",
                json={"rating": r, "title": f"<b>t{r}</b>", "author_name": "Ada"},
            ).json()["id"]
            for r in (5, 1)
        ]
    with signed_in(live_server) as client:
        queue = client.get("/console/reviews")
        while ids[1] not in queue.text:  # the review view catches up
            queue = client.get("/console/reviews")
        token = csrf_in(queue.text)
        approved = client.post(f"/console/reviews/{ids[0]}/approve", data={"csrf": token})
        rejected = client.post(
            f"/console/reviews/{ids[1]}/reject", data={"csrf": token, "reason": "spam"}
        )
        again = client.post(f"/console/reviews/{ids[0]}/approve", data={"csrf": token})
        unknown = client.post(
            "/console/reviews/00000000-0000-0000-0000-000000000000/approve", data={"csrf": token}
        )
        after = client.get("/console/reviews")
        rejected_list = client.get("/console/reviews", params={"status": "rejected"})
    assert "&lt;b&gt;t5&lt;/b&gt;" in queue.text and "<b>t5</b>" not in queue.text
    assert 'data-slot="photos"' in queue.text
    assert approved.status_code == 303 and rejected.status_code == 303
    assert again.status_code == 303  # approving twice is one approval, as in the API
    assert unknown.status_code == 404 and "ReviewNotFound" in unknown.text
    assert ids[0] not in after.text and ids[1] not in after.text
    assert ids[1] in rejected_list.text and "spam" in rejected_list.text


def test_a_verify_task_shows_its_findings(live_server: LiveServer) -> None:
    # A finished task as a run that found something leaves it (written here directly:
    # a real violation would need a broken store).
    finding = {
        "order_id": "2b1e6d0c-0000-4000-8000-000000000001",
        "payment_collection_id": "2b1e6d0c-0000-4000-8000-000000000002",
        "rule": "refunded_above_captured",
        "detail": "refunded 12.00 EUR of 10.00 EUR captured",
        "events": ["#812 PaymentCollection.Refunded"],
    }
    result = {
        "ok": False,
        "violations": 1,
        "events": 9,
        "head": 9,
        "orders": 1,
        "collections": 1,
        "view_position": 9,
        "currencies": {},
        "findings": [finding],
    }
    with live_server.container.pool.connection() as conn:
        conn.execute(
            "INSERT INTO orderledger.console_jobs (id, kind, target, status, position, head, "
            "result, started_by, finished_at) VALUES ('findings-test', 'verify', 'audit', "
            "'done', 9, 9, %s, 'test', now())",
            (Jsonb(result),),
        )
    with signed_in(live_server) as client:
        page = client.get("/console/jobs/findings-test")
        missing = client.get("/console/jobs/no-such-task")
    assert 'data-field="verdict">1 violation(s)' in page.text
    assert "refunded_above_captured" in page.text and "#812 PaymentCollection.Refunded" in page.text
    assert f"/console/orders/{finding['order_id']}" in page.text
    assert missing.status_code == 404
