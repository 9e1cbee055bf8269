"""Notifications start where they were configured, not where a worker first happened to run:
an order placed before any worker ever ran is mailed once it starts; a store with a
history that turns e-mail on later mails nobody about its old orders."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infra.schema import SCHEMA
from infra.stripe_emulator import RunningEmulator
from tests.e2e.conftest import (
    fresh_database,
    open_shop,
    running_server,
    server_of_its_own,
    worker_running,
)
from tests.e2e.resend_standin import ResendStandIn, resend_standin
from tests.e2e.test_capture import wait_until
from tests.e2e.test_notifications import checkout, customer, deliveries


def wait_until_sent(admin: httpx.Client, order_id: object) -> None:
    """Until one of the order's deliveries has been sent."""
    wait_until(
        lambda: [r for r in deliveries(admin, order_id=str(order_id)) if r["status"] == "sent"]
    )


@pytest.fixture(scope="module")
def standin() -> Iterator[ResendStandIn]:
    with resend_standin() as server:
        yield server


def test_an_order_placed_before_any_worker_ran_gets_one_confirmation_and_one_receipt(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator, standin: ResendStandIn
) -> None:
    email = customer()
    with server_of_its_own(
        database_url,
        redis_url,
        stripe_emulator,
        run_worker=False,
        resend_api_key="re_test",
        resend_api_url=standin.url,
        capture_grace_seconds=1,
        capture_sweep_seconds=0.5,
    ) as server:
        shop = open_shop(server)
        placed = checkout(server, shop, email, quantity=1)  # no worker has ever run
        assert standin.to(email) == []
        with worker_running(server, process_poll_seconds=0.1), server.admin() as admin:
            wait_until(
                lambda: (
                    {r["kind"] for r in deliveries(admin, status="sent")}
                    >= {"order_confirmation", "payment_receipt"}
                )
            )
            rows = deliveries(admin, order_id=str(placed["order_id"]))
    assert sorted(row["kind"] for row in rows) == ["order_confirmation", "payment_receipt"]
    sent = standin.delivered_to(email)
    assert len(sent) == 2
    assert sorted((r.idempotency_key or "").rsplit("-", 1)[-1] for r in sent) == [
        "order_confirmation",
        "payment_receipt",
    ]


def test_a_store_with_a_history_that_turns_e_mail_on_later_mails_nobody_about_old_orders(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator, standin: ResendStandIn
) -> None:
    old_customer, new_customer = customer(), customer()
    with fresh_database(database_url) as url:
        # Months of trade without a Resend key (e-mails go to the log), worker and all.
        with running_server(url, redis_url, stripe_emulator) as before:
            shop = open_shop(before)
            old = checkout(before, shop, old_customer, quantity=1)
            with before.admin() as admin:
                wait_until(lambda: deliveries(admin, order_id=str(old["order_id"]), status="sent"))
        # The shop sets RESEND_API_KEY and restarts.
        with running_server(
            url, redis_url, stripe_emulator, resend_api_key="re_test", resend_api_url=standin.url
        ) as after:
            new = checkout(after, shop, new_customer, quantity=1)
            with after.admin() as admin:
                wait_until_sent(admin, new["order_id"])
                old_rows = deliveries(admin, order_id=str(old["order_id"]))
    assert len(standin.delivered_to(new_customer)) == 1  # its confirmation
    assert standin.to(old_customer) == []
    assert [row["kind"] for row in old_rows] == ["order_confirmation"]  # once, to the log
    assert old_rows[0]["message_id"].startswith("logged:")


def test_a_store_from_before_notifications_begins_at_its_head_on_first_start(
    database_url: str, redis_url: str, stripe_emulator: RunningEmulator, standin: ResendStandIn
) -> None:
    """A database whose history predates notifications (no start recorded, no worker ever
    ran) starts them at its head when a process of this version first builds on it."""
    old_customer, new_customer = customer(), customer()
    with fresh_database(database_url) as url:
        with running_server(url, redis_url, stripe_emulator, run_worker=False) as before:
            shop = open_shop(before)
            checkout(before, shop, old_customer, quantity=1)
            with before.container.pool.connection() as conn:
                conn.execute(f"DELETE FROM {SCHEMA}.notifier_positions")  # as if from before
        with running_server(
            url, redis_url, stripe_emulator, resend_api_key="re_test", resend_api_url=standin.url
        ) as after:
            new = checkout(after, shop, new_customer, quantity=1)
            with after.admin() as admin:
                wait_until_sent(admin, new["order_id"])
                everything = deliveries(admin)
    assert len(standin.delivered_to(new_customer)) == 1
    assert standin.to(old_customer) == []
    assert {row["recipient"] for row in everything} == {new_customer}
