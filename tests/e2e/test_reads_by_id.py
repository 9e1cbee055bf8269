"""Reads by id never deny what the ledger holds: read at once after the write, they answer
from the caught-up view; with no worker to move the views, 503 with Retry-After, not 404;
a true miss stays a 404 that does not wait."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from infra.stripe_emulator import RunningEmulator
from infra.view_positions import WAIT_SECONDS
from tests.e2e.checkout_flow import STOREFRONT_ORDER_FIELDS, authorized_cart
from tests.e2e.conftest import LiveServer, Shop, open_shop, server_of_its_own, worker_running


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    """An API whose worker the tests start and stop (its own database: no other worker
    moves its views)."""
    with server_of_its_own(database_url, redis_url, stripe_emulator, run_worker=False) as live:
        yield live


def place(server: LiveServer, client: httpx.Client, shop: Shop) -> dict[str, Any]:
    """A checkout completed: ``{"order_id", "access_token", "status"}``."""
    cart, _ = authorized_cart(server, client, shop, quantity=1)
    done = client.post(f"/store/carts/{cart['id']}/complete")
    assert done.status_code == 200, done.text
    return dict(done.json())


def read_order(
    server: LiveServer, client: httpx.Client, admin: httpx.Client, placed: dict[str, Any]
) -> dict[str, httpx.Response]:
    order_id = placed["order_id"]
    return {
        "admin": admin.get(f"/admin/orders/{order_id}"),
        "store": client.get(
            f"/store/orders/{order_id}", headers={"X-Order-Token": placed["access_token"]}
        ),
        "transactions": admin.get(f"/admin/orders/{order_id}/transactions"),
        "history": admin.get(f"/admin/orders/{order_id}/history"),
    }


def test_an_order_read_at_once_after_placing_is_there_fifty_times_out_of_fifty(
    server: LiveServer,
) -> None:
    with worker_running(server):
        shop = open_shop(server, stock=100)
        with server.client() as client, server.admin() as admin:
            for _ in range(50):
                placed = place(server, client, shop)
                answers = read_order(server, client, admin, placed)
                assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(
                    answers, 200
                ), {name: a.text for name, a in answers.items()}
                assert answers["admin"].json()["order_id"] == placed["order_id"]
                assert answers["store"].json()["order_id"] == placed["order_id"]
                assert [t["kind"] for t in answers["transactions"].json()] == ["authorization"]


def test_with_the_worker_paused_a_just_placed_order_is_503_with_retry_after_never_404(
    server: LiveServer,
) -> None:
    with worker_running(server):
        shop = open_shop(server, stock=100)

    one_checkout_at_a_time = threading.Lock()  # fifty at once on one level would conflict

    def place_and_read(_: int) -> tuple[dict[str, Any], dict[str, httpx.Response]]:
        with server.client() as client, server.admin() as admin:
            with one_checkout_at_a_time:
                placed = place(server, client, shop)
            return placed, read_order(server, client, admin, placed)

    # The worker is stopped: nothing moves the views. Each order is read at once after
    # it is placed, the reads of one order overlapping the next checkouts (each read
    # waits out its bound, so fifty in a row would take minutes).
    with ThreadPoolExecutor(50) as pool:
        outcomes = list(pool.map(place_and_read, range(50)))
    for _, answers in outcomes:
        for name in ("admin", "store", "transactions"):
            assert answers[name].status_code == 503, (name, answers[name].text)
            assert answers[name].json()["error"] == "ViewBehind"
            assert answers[name].headers["Retry-After"] == "1"
        assert answers["history"].status_code == 200  # replayed from the events themselves

    with worker_running(server), server.client() as client, server.admin() as admin:
        for placed, _ in outcomes:
            answers = read_order(server, client, admin, placed)
            assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(
                answers, 200
            )


def test_an_inventory_level_and_a_review_read_at_once_are_there(server: LiveServer) -> None:
    with worker_running(server), server.client() as client, server.admin() as admin:
        for _ in range(5):
            shop = open_shop(server)
            level = admin.get(f"/admin/inventory-levels/{shop.variant}/{shop.berlin}")
            assert level.status_code == 200, level.text
            assert level.json()["stocked_quantity"] == 10
            review = client.post(
                f"/store/products/tee-{shop.suffix}/reviews",
                json={"rating": 5, "title": "Soft", "body": "Lovely.", "author_name": "Ada"},
            )
            assert review.status_code == 201, review.text
            read = admin.get(f"/admin/reviews/{review.json()['id']}")
            assert read.status_code == 200, read.text
            assert read.json()["status"] == "pending"


def test_with_the_worker_paused_a_new_level_and_review_are_503_not_404(server: LiveServer) -> None:
    shop = open_shop(server)  # no worker: the import is recorded, its view not yet
    with server.client() as client, server.admin() as admin:
        review = client.post(
            f"/store/products/tee-{shop.suffix}/reviews",
            json={"rating": 4, "title": "Fine", "body": "Fits.", "author_name": "Bo"},
        )
        assert review.status_code == 201, review.text
        with ThreadPoolExecutor(2) as pool:
            level, read = pool.map(
                admin.get,
                [
                    f"/admin/inventory-levels/{shop.variant}/{shop.berlin}",
                    f"/admin/reviews/{review.json()['id']}",
                ],
            )
    assert (level.status_code, read.status_code) == (503, 503)
    assert level.headers["Retry-After"] == read.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/orders/{id}",
        "/admin/orders/{id}/transactions",
        "/admin/orders/{id}/history",
        "/admin/reviews/{id}",
        "/admin/inventory-levels/no-such-variant/no-such-place",
    ],
)
def test_a_true_miss_is_a_404_at_once_even_with_the_worker_paused(
    server: LiveServer, path: str
) -> None:
    with server.admin() as admin:
        started = time.monotonic()
        answer = admin.get(path.format(id=uuid.uuid4()))
        elapsed = time.monotonic() - started
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"] == "NotFound"
    assert elapsed < WAIT_SECONDS / 2  # it did not wait for a view


def test_an_order_read_with_a_wrong_or_no_token_is_the_same_404_as_an_unknown_order(
    server: LiveServer,
) -> None:
    with worker_running(server):
        shop = open_shop(server)
        with server.client() as client:
            placed = place(server, client, shop)
            order_id = placed["order_id"]
            good = client.get(
                f"/store/orders/{order_id}", headers={"X-Order-Token": placed["access_token"]}
            )
            wrong = client.get(f"/store/orders/{order_id}", headers={"X-Order-Token": "nope"})
            missing = client.get(f"/store/orders/{order_id}")
            unknown_id = uuid.uuid4()
            unknown = client.get(f"/store/orders/{unknown_id}", headers={"X-Order-Token": "x"})
    assert good.status_code == 200
    assert set(good.json()) == STOREFRONT_ORDER_FIELDS
    assert "ada@example.com" not in good.text and placed["access_token"] not in good.text
    for answer in (wrong, missing, unknown):
        assert answer.status_code == 404
        assert answer.json() == {
            "error": "NotFound",
            "detail": answer.json()["detail"],
        }
    assert wrong.json()["detail"] == missing.json()["detail"] == f"There is no order {order_id}."
    assert unknown.json()["detail"] == f"There is no order {unknown_id}."
