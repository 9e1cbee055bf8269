"""Audit replay, verify and export against PostgreSQL (and moto's S3 server on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner, Result

from domain.order import Order
from domain.payment_collection import PaymentCollection
from infra.app import create_app
from infra.audit_views import PostgresTransactionsView
from infra.cli import app
from infra.container import Container, build_container
from infra.settings import Settings
from infra.view_store import VIEWS
from queries.audit.fold import KINDS
from queries.audit.replay import replay_order
from queries.audit.source import order_events
from queries.audit.verify import VerifyReport, Violation, verify_store
from tests.databases import fresh_database
from tests.unit.domain.builders import a_line, a_shipping

pytestmark = [pytest.mark.integration, pytest.mark.embedded_ok]

T0 = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
BUCKET = "orderledger-audit"


@dataclass
class Sale:
    order: Order
    payment: PaymentCollection


@dataclass
class World:
    """One database with the app's own container over it."""

    url: str
    container: Container
    sales: dict[str, Sale] = field(default_factory=dict)

    @property
    def ledger(self) -> Any:
        return self.container.ledger

    def sell(
        self,
        payment_intent_id: str,
        *,
        captured: bool = False,
        changed: bool = False,
        canceled: bool = False,
        refunds: tuple[int, ...] = (),
        due: datetime | None = None,
    ) -> Sale:
        """An order as checkout, the admin and the capture worker write it."""
        at = T0
        order = Order.place(
            cart_id="cart_audit",
            payment_intent_id=payment_intent_id,
            region_id="reg_eu",
            sales_channel_id="sc_web",
            currency="eur",
            email="ada@example.com",
            shipping_address=None,
            lines=[a_line("line_1", unit_price=1250, quantity=2), a_line("line_2", unit_price=999)],
            shipping=a_shipping(),
            editable_until=at + timedelta(hours=1),
            access_token_hash="sha256:abc",
            placed_by="webhook:evt_audit",
            now=at,
        )
        payment = PaymentCollection.open(
            order_id=order.id, amount=order.total_money, payment_intent_id=payment_intent_id, now=at
        )
        payment.authorize(
            order.total, reference=payment_intent_id, capture_before=at + timedelta(days=7), now=at
        )
        self.ledger.save_all(order, payment)
        payment.schedule_capture(due or at + timedelta(hours=1), now=at + timedelta(seconds=1))
        self.ledger.save_all(payment)
        if changed:
            at += timedelta(minutes=20)
            previous = order.total
            order.change_quantity("line_1", 3, changed_by="admin-key:key_7", now=at)
            payment.increase_authorization(order.total, reference="pi_increment", now=at)
            payment.change_amount(order.total, now=at)
            order.record_change(previous, changed_by="admin-key:key_7", now=at)
            self.ledger.save_all(order, payment)
        if canceled:
            at += timedelta(minutes=30)
            payment.void(reference=payment_intent_id, reason="Canceled by the shop.", now=at)
            order.cancel("Canceled by the shop.", canceled_by="admin-key:key_7", now=at)
            self.ledger.save_all(order, payment)
        if captured:
            at = T0 + timedelta(hours=1, seconds=5)
            payment.capture(payment.amount, reference=f"ch_{payment_intent_id}", now=at)
            order.mark_captured(payment.amount, now=at)
            self.ledger.save_all(order, payment)
        for n, amount in enumerate(refunds):
            at += timedelta(days=1)
            payment.refund(amount, reference=f"re_{n}", reason="returned", now=at)
            self.ledger.save_all(payment)
        sale = self.sales[payment_intent_id] = Sale(order, payment)
        return sale

    def forge(self, payment: PaymentCollection, kind: type, **fields: Any) -> None:
        """Put an event the aggregate would refuse straight into the store."""
        event = kind(
            originator_id=payment.id,
            originator_version=payment.version + 1,
            timestamp=T0 + timedelta(days=2),
            **fields,
        )
        self.ledger.events.put([event])

    def cli(self, *args: str, **env: str) -> Result:
        return CliRunner().invoke(
            app, list(args), env={"DATABASE_URL": self.url, "REDIS_URL": None, **env}
        )

    def verify(self) -> tuple[VerifyReport, list[Violation]]:
        found: list[Violation] = []
        report = verify_store(
            self.ledger,
            PostgresTransactionsView(self.container.pool),
            now=datetime.now(UTC),
            on_violation=found.append,
        )
        return report, found


@contextlib.contextmanager
def world(database_url: str) -> Iterator[World]:
    with fresh_database(database_url, "orderledger_audit") as url:
        container = build_container(Settings(database_url=url, redis_url=None))
        try:
            yield World(url, container)
        finally:
            container.close()


@pytest.fixture(scope="module")
def clean(database_url: str) -> Iterator[World]:
    """Histories written only through the aggregates: nothing for verify to find."""
    with world(database_url) as built:
        built.sell("pi_plain", captured=True)
        built.sell("pi_refunded", captured=True, refunds=(700, 300))
        built.sell("pi_changed", changed=True, captured=True)
        built.sell("pi_canceled", canceled=True)
        built.sell("pi_open", due=datetime.now(UTC) + timedelta(days=1))
        built.container.projections.catch_up()
        yield built


@pytest.fixture(scope="module")
def tampered(database_url: str) -> Iterator[World]:
    """Histories with events put into the store behind the ledger's back, and a skewed view."""
    with world(database_url) as built:
        over = built.sell("pi_forged_capture")
        built.forge(
            over.payment, PaymentCollection.CaptureSucceeded, amount=9_999, reference="ch_x"
        )
        voided = built.sell("pi_forged_refund", canceled=True)
        built.forge(
            voided.payment, PaymentCollection.Refunded, amount=100, reference="re_x", reason="?"
        )
        skewed = built.sell("pi_view_skewed", captured=True)
        built.container.projections.catch_up()
        with built.container.pool.connection() as conn:
            conn.execute(
                f"UPDATE {VIEWS}.order_transactions SET amount = amount + 1 "
                "WHERE order_id = %s AND kind = 'capture'",
                (skewed.order.id,),
            )
        yield built


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on 127.0.0.1 with one bucket; the S3_* settings that reach it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {
            "S3_ENDPOINT_URL": f"http://{host}:{port}",
            "S3_REGION": "us-east-1",
            "S3_ACCESS_KEY_ID": "testing",
            "S3_SECRET_ACCESS_KEY": "testing",
        }
        client(env).create_bucket(Bucket=BUCKET)
        yield env
    finally:
        server.stop()


def client(env: dict[str, str]) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        region_name=env["S3_REGION"],
        aws_access_key_id=env["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=env["S3_SECRET_ACCESS_KEY"],
    )


def replay_json(world: World, *args: str) -> dict[str, Any]:
    result = world.cli("audit", "replay", *args, "--json")
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def minor(figures: dict[str, Any], name: str) -> int:
    return int(figures[name]["minor"])


# --- replay -----------------------------------------------------------------------------------


def test_replay_as_of_a_time_between_authorization_and_capture_shows_authorized_not_captured(
    clean: World,
) -> None:
    sale = clean.sales["pi_plain"]
    between = (T0 + timedelta(minutes=30)).isoformat()

    then = replay_json(clean, str(sale.order.id), "--as-of", between)
    now = replay_json(clean, str(sale.order.id))

    assert minor(then["totals"], "authorized") == sale.payment.authorized
    assert minor(then["totals"], "captured") == 0
    assert minor(then["totals"], "outstanding") == sale.order.total
    assert then["payment_status"] == "authorized"
    assert [m["kind"] for m in then["movements"]] == ["authorization"]
    assert [m["kind"] for m in now["movements"]] == ["authorization", "capture"]
    assert minor(now["totals"], "captured") == sale.order.total
    assert minor(now["totals"], "outstanding") == 0


def test_replay_at_the_latest_instant_equals_the_live_aggregates_and_the_admin_views(
    clean: World,
) -> None:
    for sale in clean.sales.values():
        order_id = sale.order.id
        history = replay_order(order_id, *order_events(clean.ledger, order_id))
        assert history is not None
        live_order = clean.ledger.repository.get(order_id)
        live = clean.ledger.repository.get(sale.payment.id)
        totals = history.totals
        assert (totals.authorized, totals.captured, totals.refunded, totals.amount) == (
            live.authorized,
            live.captured,
            live.refunded,
            live.amount,
        )
        assert totals.order_total == live_order.total
        assert (history.order_status, history.payment_status) == (live_order.status, live.status)
        assert [(m.movement.kind, m.movement.amount) for m in history.movements if m.movement] == [
            (t["kind"], t["amount"]) for t in live.transactions
        ]
        in_view = clean.container.read_models.order_transactions(order_id)
        assert sorted((r["kind"], r["amount"]) for r in in_view) == sorted(
            (m.movement.kind, m.movement.amount) for m in history.movements if m.movement
        )


def test_replay_shows_amounts_in_major_units_and_what_caused_each_movement(clean: World) -> None:
    changed = replay_json(clean, "pi_changed")  # a PaymentIntent id finds its order too
    canceled = replay_json(clean, str(clean.sales["pi_canceled"].order.id))

    causes = {m["kind"]: m["cause"] for m in changed["movements"]}
    assert causes == {
        "authorization": "webhook:evt_audit",
        "increment": "admin-key:key_7",
        "capture": "unknown",
    }
    increment = next(m for m in changed["movements"] if m["kind"] == "increment")
    assert increment["amount"] == {"minor": 1500, "major": "15.00"}  # 12.50 + 20 % tax
    assert increment["currency"] == "eur"
    void = canceled["movements"][-1]
    assert (void["kind"], void["cause"], void["outstanding"]["minor"]) == (
        "void",
        "admin-key:key_7",
        0,
    )


def test_replay_as_a_table_names_the_movements_and_an_unknown_order_is_an_error(
    clean: World,
) -> None:
    shown = clean.cli("audit", "replay", str(clean.sales["pi_refunded"].order.id))
    unknown = clean.cli("audit", "replay", str(uuid.uuid4()))
    before = clean.cli(
        "audit", "replay", "pi_plain", "--as-of", (T0 - timedelta(days=1)).isoformat()
    )
    bad = clean.cli("audit", "replay", "pi_plain", "--as-of", "yesterday")

    assert shown.exit_code == 0, shown.output
    for word in ("authorization", "capture", "refund", "webhook:evt_audit", "re_1"):
        assert word in shown.stdout
    assert (unknown.exit_code, before.exit_code, bad.exit_code) == (1, 1, 2)


def test_the_admin_history_route_returns_the_replay_and_needs_an_admin_key(clean: World) -> None:
    sale = clean.sales["pi_refunded"]
    _, key = clean.container.admin_keys.create("audit test")
    api = create_app(container_factory=lambda: clean.container)
    with TestClient(api) as http:
        anonymous = http.get(f"/admin/orders/{sale.order.id}/history")
        headers = {"Authorization": f"Bearer {key}"}
        answer = http.get(f"/admin/orders/{sale.order.id}/history", headers=headers)
        missing = http.get(f"/admin/orders/{uuid.uuid4()}/history", headers=headers)
        early = http.get(
            f"/admin/orders/{sale.order.id}/history",
            params={"as_of": (T0 + timedelta(minutes=1)).isoformat()},
            headers=headers,
        )

    assert anonymous.status_code == 401
    assert answer.status_code == 200
    body = answer.json()
    assert [m["kind"] for m in body["movements"]] == [
        "authorization",
        "capture",
        "refund",
        "refund",
    ]
    assert minor(body["totals"], "refunded") == 1000
    assert body["payment_status"] == "partially_refunded"
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"
    assert minor(early.json()["totals"], "captured") == 0


# --- verify -----------------------------------------------------------------------------------


def test_a_store_written_through_the_aggregates_verifies_clean(clean: World) -> None:
    result = clean.cli("audit", "verify")
    report, found = clean.verify()

    assert result.exit_code == 0, result.output
    assert found == []
    assert report.orders == len(clean.sales)
    assert report.view_position == clean.ledger.head
    eur = report.summary["eur"]
    assert eur["capture"]["count"] == 3
    assert eur["refund"] == {"count": 2, "amount": 1000}
    assert eur["void"]["count"] == 1


def test_a_capture_above_the_authorization_behind_the_ledgers_back_fails_verify(
    tampered: World,
) -> None:
    order_id = tampered.sales["pi_forged_capture"].order.id
    result = tampered.cli("audit", "verify")

    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if str(order_id) in line]
    assert any("capture_exceeds_authorized" in line for line in lines), result.stdout
    assert any("capture_differs_from_total" in line for line in lines)
    assert any(re.search(r"#\d+ PaymentCollection\.CaptureSucceeded", line) for line in lines)
    assert any(re.search(r"#\d+ PaymentCollection\.Authorized", line) for line in lines)


def test_a_refund_after_a_void_behind_the_ledgers_back_fails_verify(tampered: World) -> None:
    order_id = tampered.sales["pi_forged_refund"].order.id
    result = tampered.cli("audit", "verify", "--json")

    assert result.exit_code == 1
    answer = json.loads(result.stdout)
    rules = {v["rule"] for v in answer["violation_list"] if v["order_id"] == str(order_id)}
    assert rules == {"refund_after_void", "refund_exceeds_captured"}
    assert answer["ok"] is False


def test_a_verify_pass_collects_cycles_less_often_and_restores_the_collector(
    tampered: World,
) -> None:
    before = gc.get_threshold()
    during: list[int] = []
    verify_store(
        tampered.ledger,
        PostgresTransactionsView(tampered.container.pool),
        now=datetime.now(UTC),
        on_violation=lambda _: during.append(gc.get_threshold()[0]),
        progress=lambda _position, _head: during.append(gc.get_threshold()[0]),
    )
    assert during and min(during) >= 100_000
    assert gc.get_threshold() == before


def test_a_view_that_disagrees_with_the_events_fails_verify(tampered: World) -> None:
    order_id = tampered.sales["pi_view_skewed"].order.id
    _, found = tampered.verify()

    assert [(v.order_id, v.rule) for v in found if v.rule == "view_differs"] == [
        (order_id, "view_differs")
    ]
    assert not [v for v in found if v.order_id == order_id and v.rule != "view_differs"]


# --- export -----------------------------------------------------------------------------------


def objects(env: dict[str, str], prefix: str) -> dict[str, tuple[str, bytes]]:
    s3 = client(env)
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        o["Key"]: (o["ETag"], s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read())
        for o in listed
    }


def test_export_writes_movements_and_a_manifest_whose_sums_match_verify_and_rerunning_is_a_no_op(
    clean: World, s3: dict[str, str]
) -> None:
    first = clean.cli("audit", "export", "--to", f"s3://{BUCKET}/ledger", "--part-size", "4", **s3)
    written = objects(s3, "ledger/")
    again = clean.cli("audit", "export", "--to", f"s3://{BUCKET}/ledger", "--part-size", "4", **s3)
    rewritten = objects(s3, "ledger/")

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    assert rewritten == written
    [manifest_key] = [k for k in written if "/manifest-" in k]
    manifest = json.loads(written[manifest_key][1])
    report, _ = clean.verify()
    assert manifest["currencies"] == report.summary
    assert manifest["movements"] == sum(report.summary["eur"][k]["count"] for k in KINDS) == 12
    lines = []
    for file in manifest["files"]:
        body = written[file["key"]][1]
        assert hashlib.sha256(body).hexdigest() == file["sha256"]
        lines += [json.loads(line) for line in body.decode().splitlines()]
    assert len(manifest["files"]) == 3  # 12 movements, 4 to a file
    assert [line["notification_id"] for line in lines] == sorted(
        line["notification_id"] for line in lines
    )
    refunds = [line for line in lines if line["kind"] == "refund"]
    assert {(r["amount"], r["currency"]) for r in refunds} == {(700, "eur"), (300, "eur")}
    assert set(lines[0]) == {
        "notification_id",
        "order_id",
        "payment_collection_id",
        "version",
        "kind",
        "amount",
        "currency",
        "reference",
        "created_at",
    }


def test_export_since_a_time_takes_only_the_later_movements(
    clean: World, s3: dict[str, str]
) -> None:
    since = (T0 + timedelta(days=1)).isoformat()
    result = clean.cli("audit", "export", "--to", f"s3://{BUCKET}/later", "--since", since, **s3)
    written = objects(s3, "later/")

    assert result.exit_code == 0, result.output
    [manifest_key] = [k for k in written if "/manifest-" in k]
    assert manifest_key.startswith("later/since-20250315T120000Z/")
    manifest = json.loads(written[manifest_key][1])
    assert manifest["currencies"]["eur"]["refund"] == {"count": 2, "amount": 1000}
    assert manifest["movements"] == 2


def test_a_view_behind_the_log_is_compared_at_its_own_position(database_url: str) -> None:
    with world(database_url) as lagging:
        lagging.sell("pi_seen", captured=True)
        lagging.container.projections.catch_up()
        seen_up_to = lagging.ledger.head
        lagging.sell("pi_not_yet", captured=True)

        report, found = lagging.verify()

    assert found == []
    assert report.view_position == seen_up_to < report.head
    assert report.summary["eur"]["capture"]["count"] == 2
