"""The console's pure parts: the money timeline's SVG and how a search is read."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from infra.console.charts import money_timeline
from infra.console.views import _search_condition
from queries.audit.fold import Movement
from queries.audit.replay import HistoryEntry, OrderHistory, Running

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def entry(
    minutes: int, kind: str | None, authorized: int, captured: int, refunded: int
) -> HistoryEntry:
    return HistoryEntry(
        at=T0 + timedelta(minutes=minutes),
        aggregate="payment",
        event="PaymentCollection.Something",
        version=minutes + 1,
        cause="test",
        detail="",
        movement=Movement(kind, 100, "pi_x") if kind else None,
        running=Running(
            order_total=6000,
            amount=6000,
            authorized=authorized,
            captured=captured,
            refunded=refunded,
            outstanding=captured - refunded,
        ),
    )


def history(*entries: HistoryEntry) -> OrderHistory:
    return OrderHistory(
        order_id=uuid4(),
        payment_collection_id=uuid4(),
        currency="eur",
        as_of=None,
        order_status="captured",
        payment_status="partially_refunded",
        totals=entries[-1].running,
        entries=entries,
    )


def test_an_order_without_money_movements_has_no_chart() -> None:
    assert money_timeline(history(entry(0, None, 0, 0, 0))) == ""


def test_the_timeline_steps_once_per_movement_for_each_series() -> None:
    svg = str(
        money_timeline(
            history(
                entry(0, "authorization", 6000, 0, 0),
                entry(1, None, 6000, 0, 0),  # not a movement: no step
                entry(2, "capture", 6000, 6000, 0),
                entry(3, "refund", 6000, 6000, 1500),
            )
        )
    )
    assert svg.startswith('<svg class="timeline"') and svg.endswith("</svg>")
    assert svg.count("<polyline") == 3
    assert svg.count("<circle") == 9  # three movements x three series
    assert ">refund<" in svg and ">09:03:00<" in svg
    assert ">60.00<" in svg  # the top of the scale in major units
    assert "in EUR" in svg


def test_a_search_is_an_order_id_a_payment_intent_or_the_start_of_an_e_mail() -> None:
    order_id = uuid4()
    params: dict[str, object] = {}
    assert _search_condition(str(order_id), params) == "order_id = %(order_id)s"
    assert params["order_id"] == order_id
    assert _search_condition("pi_123", params) == "payment_intent_id = %(payment_intent_id)s"
    assert params["payment_intent_id"] == "pi_123"
    assert _search_condition("Ada_100%@Example", params) == "lower(email) LIKE %(email)s"
    assert params["email"] == "ada\\_100\\%@example%"  # wildcards typed are literal
