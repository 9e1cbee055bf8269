"""``?min_position`` waits without holding a request thread, and only so many at once: a
position past the log's head is refused (400), waiters beyond the bound at once (503), and
meanwhile the rest of the API answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest

from infra.stripe_emulator import RunningEmulator
from tests.e2e.checkout_flow import authorized_cart
from tests.e2e.conftest import (
    LiveServer,
    Shop,
    fresh_database,
    open_shop,
    running_server,
    server_of_its_own,
    worker_running,
)

WAITERS = 5
# Long enough that no waiter gives up before the test moves the view with a worker.
WAIT = 30.0


@pytest.fixture(scope="module")
def server(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> Iterator[LiveServer]:
    """An API admitting five waiters, with no worker (so views stay where they are) unless
    a test starts one."""
    with server_of_its_own(
        database_url,
        redis_url,
        stripe_emulator,
        run_worker=False,
        view_waiters_max=WAITERS,
        view_wait_seconds=WAIT,
    ) as live:
        yield live


def unprojected_position(server: LiveServer) -> tuple[int, Shop]:
    """The position of a checkout no view has processed (no worker runs), and its shop."""
    shop = open_shop(server, stock=100)
    with server.client() as client:
        cart, _ = authorized_cart(server, client, shop, quantity=1)
        done = client.post(f"/store/carts/{cart['id']}/complete")
    assert done.status_code == 200, done.text
    return int(done.headers["X-Ledger-Position"]), shop


@pytest.mark.parametrize("beyond", [1, 1000, 2**62])
def test_a_position_past_the_head_of_the_log_is_a_400_at_once(
    server: LiveServer, beyond: int
) -> None:
    head = server.container.ledger.head
    position = min(head + beyond, 2**62)
    with server.admin() as admin:
        answer = admin.get(f"/admin/orders?min_position={position}")
    with server.client() as client:
        store = client.get(f"/store/products/nothing?min_position={position}")
    assert answer.status_code == store.status_code == 400
    assert answer.json()["error"] == store.json()["error"] == "PositionBeyondHead"


def test_beyond_the_bound_waiters_are_refused_at_once_while_health_and_carts_answer(
    server: LiveServer,
) -> None:
    position, shop = unprojected_position(server)
    url = f"/admin/orders?min_position={position}"
    refused_back = threading.Barrier(30 - WAITERS + 1, timeout=30)
    answered_after_waiting: list[int] = []

    def wait_for_view(_: int) -> httpx.Response:
        with server.admin() as admin:
            answer = admin.get(url)
        if answer.status_code == 503:
            refused_back.wait()
        else:
            answered_after_waiting.append(answer.status_code)
        return answer

    with ThreadPoolExecutor(30) as pool:
        futures: list[Future[httpx.Response]] = [pool.submit(wait_for_view, i) for i in range(30)]
        refused_back.wait()  # 25 refusals are back: the five admitted are still waiting
        with server.client() as client:
            health = client.get("/health")
            cart = client.post(
                "/store/carts",
                json={
                    "region_id": shop.region,
                    "sales_channel_id": shop.channel,
                    "email": "a@example.com",
                },
            )
        waited_through = list(answered_after_waiting)
        with worker_running(server):  # the view arrives: the five waiters are answered
            answers = [f.result() for f in futures]
    assert health.status_code == 200
    assert cart.status_code == 201, cart.text
    assert waited_through == []  # health and the cart were answered while five waited
    refused = [a for a in answers if a.status_code == 503]
    admitted = [a for a in answers if a.status_code == 200]
    assert (len(refused), len(admitted)) == (30 - WAITERS, WAITERS)
    assert {a.json()["error"] for a in refused} == {"TooManyWaiting"}
    assert {a.headers["Retry-After"] for a in refused} == {"1"}
    assert {a.headers["X-View-Caught-Up"] for a in admitted} == {"true"}


def test_a_waiting_read_is_answered_as_soon_as_a_worker_moves_the_view(
    server: LiveServer,
) -> None:
    position, _ = unprojected_position(server)
    with ThreadPoolExecutor(1) as pool, server.admin() as admin:
        waiting = pool.submit(admin.get, f"/admin/orders?min_position={position}")
        with worker_running(server):
            answer = waiting.result()
    assert answer.status_code == 200
    assert answer.headers["X-View-Caught-Up"] == "true"


def test_sixty_waiters_hold_no_request_thread_a_thread_pool_read_still_answers(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator
) -> None:
    """Sixty waiting reads of an endpoint that runs in the thread pool (40 threads): were
    waiting done in a thread, a sixty-first read of it would queue behind them."""
    with (
        fresh_database(database_url) as url,
        running_server(
            url, redis_url, stripe_emulator, run_worker=False, view_wait_seconds=WAIT
        ) as live,
    ):
        position, _ = unprojected_position(live)
        answered: list[int] = []

        def wait_for_view(_: int) -> httpx.Response:
            with live.admin() as admin:
                answer = admin.get(f"/admin/orders?min_position={position}")
            answered.append(answer.status_code)
            return answer

        with ThreadPoolExecutor(60) as pool, live.admin() as admin:
            futures = [pool.submit(wait_for_view, i) for i in range(60)]
            while "orderledger_view_waiters 60.0" not in admin.get("/metrics").text:
                assert not answered, answered  # none gives up: no worker moves the view
            # All sixty wait; the same endpoint without a position answers from a thread.
            listing = admin.get("/admin/orders")
            waited_through = list(answered)
            with worker_running(live):
                results = [f.result() for f in futures]
    assert listing.status_code == 200
    assert waited_through == []
    assert {(r.status_code, r.headers["X-View-Caught-Up"]) for r in results} == {(200, "true")}
