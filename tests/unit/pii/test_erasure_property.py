"""Property: for any history, replay with some customers' keys destroyed equals replay
with every key, apart from those customers' personal fields (which read [erased])."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.order import Order
from domain.review import Review
from infra.pii.crypto import ERASED
from infra.pii.fields import SNAPSHOT_FIELDS
from queries.audit.replay import history_json, replay_order
from tests.unit.domain.builders import NOW, a_line
from tests.unit.pii.support import customer_order, customer_review, sealed_ledger

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1)
customers = st.lists(
    st.tuples(st.emails(), names, names), min_size=1, max_size=3, unique_by=lambda c: c[0].lower()
)
steps = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["add", "quantity", "cancel", "capture", "review"]),
        st.integers(1, 5),
    ),
    max_size=15,
)


def personal_fields(aggregate: Any) -> tuple[str, ...]:
    from eventsourcing.utils import get_topic

    return SNAPSHOT_FIELDS.get(get_topic(type(aggregate)), ())


def state_of(aggregate: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(customers, steps, st.sets(st.integers(0, 2)))
def test_replay_without_keys_equals_replay_with_keys_but_for_personal_fields(
    people: list[tuple[str, str, str]], history: list[tuple[int, str, int]], erased: set[int]
) -> None:
    # Given orders (and reviews) of several customers, changed in any order
    ledger, personal = sealed_ledger(snapshots=True)
    orders: list[Order] = []
    for n, (email, name, street) in enumerate(people):
        orders.append(customer_order(email, name, street, payment_intent_id=f"pi_{n}"))
    ledger.save_all(*orders)
    owner_of: dict[UUID, int] = {o.id: n for n, o in enumerate(orders)}
    for step, (who, what, amount) in enumerate(history):
        order = orders[who % len(orders)]
        now = NOW + timedelta(minutes=step)
        if what == "review":
            review = customer_review(order.id, people[who % len(people)][1])
            if ledger.get_or_none(review.id, Review) is None:
                ledger.save_all(review)
                owner_of[review.id] = who % len(orders)
            continue
        if order.status != "placed":
            continue
        if what == "add":
            order.add_line(
                a_line(f"added_{step}", unit_price=amount * 100), changed_by="c", now=now
            )
        elif what == "quantity":
            order.change_quantity("line_1", amount, changed_by="c", now=now)
        elif what == "cancel":
            order.cancel("changed mind", canceled_by="c", now=now)
        else:
            order.mark_captured(order.total, now=now)
        ledger.save_all(order)
        if step % 4 == 3:
            ledger.take_snapshot(order.id)
    ids = list(owner_of)
    before = {i: state_of(ledger.repository.get(i)) for i in ids}
    replays_before = {o.id: _replay(ledger, o.id) for o in orders}

    # When some customers' keys are destroyed
    gone = {n % len(people) for n in erased}
    subjects = [personal.master.subject_of_email(people[n][0]) for n in gone]
    personal.keys.destroy(subjects, NOW)

    # Then every aggregate reads the same, but for the erased customers' personal fields
    for i in ids:
        aggregate = ledger.repository.get(i)
        after = state_of(aggregate)
        fields = personal_fields(aggregate)
        if owner_of[i] in gone:
            for name in fields:
                assert after[name] == _erased_like(before[i][name])
        assert _without(after, fields) == _without(before[i], fields)
        if owner_of[i] not in gone:
            assert after == before[i]
    # And the audit replay of every order, cent for cent, is unchanged
    for o in orders:
        assert _replay(ledger, o.id) == replays_before[o.id]


def _replay(ledger: Any, order_id: UUID) -> Any:
    from domain.ids import payment_collection_id_for

    events = list(ledger.events.get(order_id))
    payments = list(ledger.events.get(payment_collection_id_for(order_id)))
    history = replay_order(order_id, events, payments)
    return history_json(history) if history is not None else None


def _erased_like(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ERASED for k in value}
    return ERASED


def _without(state: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in state.items() if k not in fields}
