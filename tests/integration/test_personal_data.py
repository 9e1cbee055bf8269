"""A customer exported and erased end to end, against PostgreSQL and moto's S3 server.

After the erasure no byte of the customer's e-mail, name or address is anywhere in the
database (events, snapshots, views, e-mail log, every other table) or in the audit
export bucket; the books verify and every money figure is what it was.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from commands.notify.notifier import Notifier
from domain.erasure import NotErasableYet
from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.app import create_app
from infra.container import Container, build_container
from infra.database import conninfo
from infra.notification_store import PostgresDeliveryLog
from infra.pii.crypto import new_master_key_text
from infra.settings import Settings
from tests.databases import fresh_database
from tests.integration.test_audit import BUCKET, World, client, replay_json
from tests.integration.test_audit import s3 as s3
from tests.unit.domain.builders import a_line, a_shipping
from tests.unit.pii.support import customer_review

pytestmark = [pytest.mark.integration]

T0 = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
ADA = {
    "email": "ada.lovelace@example.com",
    "name": "Augusta Lovelace",
    "street": "12 Analytical Row",
}
BOB = {"email": "bob.babbage@example.org", "name": "Charles Babbage", "street": "7 Difference Lane"}


class PiiWorld(World):
    def place(self, who: dict[str, str], pi: str, *, captured: bool) -> tuple[Order, Any]:
        at = T0
        order = Order.place(
            cart_id=f"cart_{pi}",
            payment_intent_id=pi,
            region_id="reg_eu",
            sales_channel_id="sc_web",
            currency="eur",
            email=who["email"],
            shipping_address={
                "first_name": who["name"],
                "address_1": who["street"],
                "phone": "+44 20 7946 0000",
                "country_code": "gb",
            },
            lines=[a_line("line_1", unit_price=1250, quantity=2)],
            shipping=a_shipping(),
            editable_until=datetime.now(UTC) + timedelta(hours=1) if not captured else at,
            access_token_hash="sha256:abc",
            placed_by="webhook:evt",
            now=at,
        )
        payment = PaymentCollection.open(
            order_id=order.id, amount=order.total_money, payment_intent_id=pi, now=at
        )
        payment.authorize(order.total, reference=pi, capture_before=at + timedelta(days=7), now=at)
        self.ledger.save_all(order, payment)
        if captured:
            at += timedelta(hours=1)
            payment.capture(payment.amount, reference=f"ch_{pi}", now=at)
            order.mark_captured(payment.amount, now=at)
            self.ledger.save_all(order, payment)
        return order, payment


@contextlib.contextmanager
def pii_world(database_url: str) -> Iterator[PiiWorld]:
    with fresh_database(database_url, "orderledger_pii") as url:
        key = new_master_key_text()
        container: Container = build_container(
            Settings(database_url=url, redis_url=None, pii_master_key=key)
        )
        try:
            built = PiiWorld(url, container)
            built.master_key = key  # type: ignore[attr-defined]
            yield built
        finally:
            container.close()


def every_byte(url: str) -> bytes:
    """Every row of every table of the database, as text (bytea as hex and raw)."""
    out = bytearray()
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert len(tables) > 10
        for schema, table in tables:
            for row in conn.execute(
                sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            ):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out += bytes(value)
                    else:
                        out += str(value).encode()
                out += b"\n"
    return bytes(out)


def bucket_bytes(env: dict[str, str]) -> bytes:
    s3c = client(env)
    out = b""
    for item in s3c.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        out += s3c.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
    return out


def secrets_of(who: dict[str, str]) -> list[bytes]:
    return [who["email"].encode(), who["name"].encode(), who["street"].encode()]


def test_a_customer_is_exported_and_erased_end_to_end(
    database_url: str, s3: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with pii_world(database_url) as world:
        # Given Ada's and Bob's captured orders, Ada's verified review, a snapshot,
        # the e-mails decided for them, the views caught up and an audit export
        ada, _ = world.place(ADA, "pi_ada", captured=True)
        bob, _ = world.place(BOB, "pi_bob", captured=True)
        world.ledger.save_all(customer_review(ada.id, ADA["name"]))
        world.ledger.take_snapshot(ada.id)
        deliveries = PostgresDeliveryLog(world.container.pool)
        Notifier(
            world.ledger,
            deliveries,
            world.container.services.clock,
            ops_email=None,
            follower="pii-test",
            from_start=True,
        ).catch_up()
        world.container.projections.catch_up()
        exported = world.cli("audit", "export", "--to", f"s3://{BUCKET}/audit", **s3)
        assert exported.exit_code == 0, exported.output
        ada_before = replay_json(world, str(ada.id))
        report_before = world.verify()
        assert report_before[1] == []
        whole = every_byte(world.url)
        # (the views and the e-mail log hold Ada in clear; the events do not)
        assert ADA["email"].encode() in whole
        with world.container.pool.connection() as conn:
            events = b"".join(
                bytes(r[0]) for r in conn.execute("SELECT state FROM public.orderledger_events")
            )
        for secret in secrets_of(ADA):
            assert secret not in events

        api = TestClient(
            create_app(world.container.settings, container_factory=lambda: world.container)
        )
        with api:
            admin_key = world.container.admin_keys.create("dpo")[1]
            auth = {"Authorization": f"Bearer {admin_key}"}
            # When her data is exported
            before = api.post("/admin/customers/export", json={"email": ADA["email"]}, headers=auth)
            assert before.status_code == 200, before.text
            listed = json.dumps(before.json())
            # Then it lists everything held about her
            for secret in secrets_of(ADA):
                assert secret.decode() in listed
            assert [o["id"] for o in before.json()["orders"]] == [str(ada.id)]
            assert before.json()["reviews"][0]["author_name"] == ADA["name"]
            assert before.json()["emails"], "the order confirmation sent to her"
            assert BOB["email"] not in listed

            # When she is erased
            erased = api.post("/admin/customers/erase", json={"email": ADA["email"]}, headers=auth)
            assert erased.status_code == 200, erased.text
            assert erased.json()["erased"] is True
            head = world.ledger.head
            # And erased again: nothing more happens
            again = api.post("/admin/customers/erase", json={"email": ADA["email"]}, headers=auth)
            assert again.status_code == 200 and again.json()["erased"] is False
            assert world.ledger.head == head
            # Then an export lists nothing personal of hers
            after = api.post("/admin/customers/export", json={"email": ADA["email"]}, headers=auth)
            listed_after = json.dumps(after.json())
            for secret in secrets_of(ADA):
                assert secret.decode() not in listed_after
            assert after.json()["orders"][0]["email"] == "[erased]"
            assert after.json()["orders"][0]["total"] == ada.total
            # And the admin order view shows the order, totals intact, [erased] in her place
            view = api.get(f"/admin/orders/{ada.id}", headers=auth)
            assert view.status_code == 200, view.text
            assert ADA["email"] not in view.text and "[erased]" in view.text

        # And a notifier deciding her order's events again writes to nobody (Bob: as before)
        again_notifier = Notifier(
            world.ledger, deliveries, world.container.services.clock, ops_email=None
        )
        placed = {
            n.originator_id: n
            for n in world.ledger.recorder.select_notifications(start=1, limit=1000)
            if n.topic.endswith("Order.Placed")
        }
        assert again_notifier.decide(placed[ada.id]) == []
        assert [e.recipient for e in again_notifier.decide(placed[bob.id])] == [BOB["email"]]
        # And no byte of her e-mail, name or address is in the database or the bucket,
        # after a rebuild of every view from the events either
        world.container.projections.rebuild("admin_orders")
        world.container.projections.rebuild("reviews")
        whole = every_byte(world.url)
        in_bucket = bucket_bytes(s3)
        assert in_bucket
        for secret in secrets_of(ADA):
            assert secret not in whole, secret
            assert secret.hex().encode() not in whole, secret
            assert secret not in in_bucket, secret
            assert secret.decode() not in caplog.text, secret
        # And Bob is untouched
        assert BOB["email"].encode() in whole
        assert world.container.customers is not None
        assert world.container.customers.export(BOB["email"])["orders"][0]["email"] == BOB["email"]
        # And the books verify, every money figure of her order as it was
        _, found = world.verify()
        assert found == []
        ada_after = replay_json(world, str(ada.id))
        assert ada_after["totals"] == ada_before["totals"]
        assert ada_after["movements"] == ada_before["movements"]


def test_a_customer_with_an_open_order_is_not_erasable_yet(database_url: str) -> None:
    with pii_world(database_url) as world:
        # Given Carol's order still in its grace period
        carol = {"email": "carol@example.net", "name": "Carol Open", "street": "1 Pending St"}
        world.place(carol, "pi_carol", captured=False)
        customers = world.container.customers
        assert customers is not None
        # When she asks to be erased, then it is refused, saying when it can be
        with pytest.raises(NotErasableYet, match=r"grace period or awaiting capture; .* after 20"):
            customers.erase(carol["email"], requested_by="cli")
        # And nothing was destroyed
        assert customers.export(carol["email"])["orders"][0]["email"] == carol["email"]
        # And the API answers 409 with the same words
        api = TestClient(
            create_app(world.container.settings, container_factory=lambda: world.container)
        )
        with api:
            key = world.container.admin_keys.create("dpo")[1]
            refused = api.post(
                "/admin/customers/erase",
                json={"email": carol["email"]},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert refused.status_code == 409, refused.text
            assert refused.json()["error"] == "NotErasableYet"
            bad = api.post(
                "/admin/customers/erase",
                json={"email": "not an email"},
                headers={"Authorization": f"Bearer {key}"},
            )
            assert bad.status_code in (400, 422), bad.text


def test_events_stored_in_clear_before_encryption_are_sealed_by_the_rewrite_step(
    database_url: str,
) -> None:
    with pii_world(database_url) as world:
        # Given Dora's order written before encryption was on (a ledger without a key)
        dora = {"email": "dora@example.com", "name": "Dora Before", "street": "3 Old Road"}
        plain = build_container(Settings(database_url=world.url, redis_url=None))
        try:
            order, _ = PiiWorld(world.url, plain).place(dora, "pi_dora", captured=True)
            plain.ledger.take_snapshot(order.id)
        finally:
            plain.close()
        key = world.master_key  # type: ignore[attr-defined]

        def events_and_snapshots() -> bytes:
            with world.container.pool.connection() as conn:
                rows = conn.execute(
                    "SELECT state FROM public.orderledger_events UNION ALL"
                    " SELECT state FROM public.orderledger_snapshots"
                ).fetchall()
            return b"".join(bytes(r[0]) for r in rows)

        assert dora["email"].encode() in events_and_snapshots()
        # (it loads as it was, and export cannot find what was never linked)
        assert world.ledger.repository.get(order.id).email == dora["email"]
        # When the rewrite step runs (twice: the second finds nothing to do)
        first = world.cli("customers", "seal-existing", PII_MASTER_KEY=key)
        assert first.exit_code == 0, first.output
        assert json.loads(first.stdout) == {"events": 1, "snapshots": 1}
        second = world.cli("customers", "seal-existing", PII_MASTER_KEY=key)
        assert json.loads(second.stdout) == {"events": 0, "snapshots": 0}
        # Then nothing of hers is in clear in the store, she is exported and erasable
        stored = events_and_snapshots()
        for secret in secrets_of(dora):
            assert secret not in stored
        exported = world.cli("customers", "export", dora["email"], PII_MASTER_KEY=key)
        assert exported.exit_code == 0, exported.output
        assert json.loads(exported.stdout)["orders"][0]["email"] == dora["email"]
        erased = world.cli("customers", "erase", dora["email"], PII_MASTER_KEY=key)
        assert erased.exit_code == 0, erased.output
        assert json.loads(erased.stdout)["erased"] is True
        after = world.cli("customers", "export", dora["email"], PII_MASTER_KEY=key)
        assert json.loads(after.stdout)["orders"][0]["email"] == "[erased]"
        assert json.loads(after.stdout)["orders"][0]["total"] == order.total
