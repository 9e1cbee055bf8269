"""Checks the whole store's money, streaming the log: constant work per event, small state per order.

Every order and payment collection is folded from the notification log page by
page (``OrderMoney`` plus a few notification ids to name the events involved);
no aggregate is loaded. What is checked:

* captured <= authorized, refunds plus lost disputes <= captured, nothing captured
  or refunded after a void, no void after a capture, no second capture, no dispute
  on money that was never captured;
* the captured amount equals the order total at the time of capture;
* the collection's amount equals the order total after every change (a change and
  the amount that follows it are saved together, so a difference still there
  ``SAVE_SPAN`` notifications later, or at the end, is a violation);
* no order changes after its capture or cancellation; an order's own record of a
  change states the total its lines give;
* transaction entries (authorizations and increments, captures, refunds) add up to
  the collection's authorized / captured / refunded;
* ``views.order_transactions`` holds the same count and sum per order and kind as
  the events, at the position the view has reached;
* every capture that is due has happened or is explained (a final failure, a void).
"""

from array import array
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from datetime import datetime
from typing import Final
from uuid import UUID

from domain.ids import payment_collection_id_for
from domain.order import Order
from domain.payment_collection import PaymentCollection
from queries.audit.findings import VerifyReport, Violation, label, ref
from queries.audit.fold import (
    KINDS,
    MONEY_TOPICS,
    ORDER_EVENTS,
    Event,
    OrderMoney,
)
from queries.audit.ports import EventStore, TransactionsView, ViewSnapshot, ViewTotal
from queries.audit.source import PAGE_SIZE, head, read_log
from queries.audit.summary import MoneySummary
from queries.streaming import fewer_collections

# Saves are contiguous in the log and far shorter than this.
SAVE_SPAN: Final = 1_000

_KIND_INDEX: Final = {kind: i for i, kind in enumerate(KINDS)}
_ORDER_TYPES: Final = frozenset(ORDER_EVENTS)


class _Audited(OrderMoney):
    """An order's money plus the notification ids an audit names when it finds a problem."""

    __slots__ = (
        "amount_ref",
        "auth_ref",
        "capture_ref",
        "due_ref",
        "kinds",
        "total_ref",
        "unsynced_since",
        "view_seen",
        "void_ref",
    )

    def __init__(self, order_id: UUID | None, payment_collection_id: UUID) -> None:
        super().__init__(order_id, payment_collection_id)
        # The last event of each role, packed by ``findings.ref`` (0: none yet).
        self.total_ref = self.amount_ref = self.auth_ref = 0
        self.capture_ref = self.void_ref = self.due_ref = 0
        self.unsynced_since: int | None = None
        self.kinds: array[int] | None = None  # count and sum per kind, for the view
        self.view_seen = False


class Verifier:
    """Feed it the money events of the log in order, page by page; then ``finish``."""

    def __init__(self, *, now: datetime, on_violation: Callable[[Violation], None]) -> None:
        self.now = now
        self._report = on_violation
        self._states: dict[UUID, _Audited] = {}
        self._unsynced: set[UUID] = set()
        self.summary = MoneySummary()
        self.violations: dict[str, int] = {}
        self.events = 0

    def _violation(self, state: _Audited, rule: str, detail: str, *refs: int) -> None:
        self.violations[rule] = self.violations.get(rule, 0) + 1
        involved = tuple(label(r) for r in refs if r)
        self._report(Violation(state.order_id, state.payment_collection_id, rule, detail, involved))

    def _state(self, event: Event) -> _Audited:
        if type(event) in _ORDER_TYPES:
            key = payment_collection_id_for(event.originator_id)
            order_id: UUID | None = event.originator_id
        else:
            key = event.originator_id
            order_id = getattr(event, "order_id", None)  # only Created says it
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = _Audited(order_id, key)
        elif state.order_id is None and order_id is not None:
            state.order_id = order_id
        return state

    # --- the stream ---------------------------------------------------------------------------

    def feed(self, page: Iterable[tuple[int, Event]]) -> None:
        for nid, event in page:
            self.events += 1
            state = self._state(event)
            check = _CHECKS.get(type(event))
            if check is not None:
                check(self, state, nid, event)
            movement = state.apply(event)
            if movement is not None:
                self._count(state, movement.kind, movement.amount)
            if state.has_order and state.has_payment:
                self._track_sync(state, nid)

    def page_done(self, position: int) -> None:
        """A page up to ``position`` is folded: report differences older than a save."""
        for key in list(self._unsynced):
            state = self._states[key]
            since = state.unsynced_since
            if since is not None and since <= position - SAVE_SPAN:
                self._unsynced.discard(key)
                self._amount_differs(state)

    def _count(self, state: _Audited, kind: str, amount: int) -> None:
        if state.currency:
            self.summary.add(state.currency, kind, amount)
        if state.kinds is None:
            state.kinds = array("q", bytes(16 * len(KINDS)))
        i = 2 * _KIND_INDEX[kind]
        state.kinds[i] += 1
        state.kinds[i + 1] += amount

    def _track_sync(self, state: _Audited, nid: int) -> None:
        key = state.payment_collection_id
        if state.total == state.amount:
            if state.unsynced_since is not None:
                state.unsynced_since = None
                self._unsynced.discard(key)
        elif state.unsynced_since is None:
            state.unsynced_since = nid
            self._unsynced.add(key)

    def _amount_differs(self, state: _Audited) -> None:
        self._violation(
            state,
            "amount_differs_from_total",
            f"the order total is {state.total} but the collection's amount is {state.amount}",
            state.total_ref,
            state.amount_ref,
        )

    # --- checks before an event is folded -----------------------------------------------------

    def _placed(self, state: _Audited, nid: int, event: Event) -> None:
        state.total_ref = ref(nid, event)

    def _order_change(self, state: _Audited, nid: int, event: Event) -> None:
        state.total_ref = ref(nid, event)
        if state.has_order and state.lines is None:
            self._violation(
                state,
                "order_changed_after_close",
                f"the order is {state.order_status}",
                ref(nid, event),
            )

    def _order_changed(self, state: _Audited, nid: int, event: Event) -> None:
        total = event.total
        if state.lines is not None and total != state.total:
            self._violation(
                state,
                "change_total_differs",
                f"the change records a total of {total}, the lines give {state.total}",
                state.total_ref,
                ref(nid, event),
            )

    def _amount_set(self, state: _Audited, nid: int, event: Event) -> None:
        state.amount_ref = ref(nid, event)

    def _authorization(self, state: _Audited, nid: int, event: Event) -> None:
        state.auth_ref = ref(nid, event)

    def _scheduled(self, state: _Audited, nid: int, event: Event) -> None:
        state.due_ref = ref(nid, event)

    def _capture(self, state: _Audited, nid: int, event: Event) -> None:
        this = ref(nid, event)
        amount = event.amount
        if state.voided:
            self._violation(state, "capture_after_void", "", state.void_ref, this)
        if state.is_captured:
            self._violation(
                state,
                "captured_twice",
                f"already captured {state.captured}",
                state.capture_ref,
                this,
            )
        if amount > state.authorized:
            self._violation(
                state,
                "capture_exceeds_authorized",
                f"captured {amount} of {state.authorized} authorized",
                state.auth_ref,
                this,
            )
        if state.has_order and amount != state.total:
            self._violation(
                state,
                "capture_differs_from_total",
                f"captured {amount}, the order total is {state.total}",
                state.total_ref,
                this,
            )
        state.capture_ref = this

    def _refund(self, state: _Audited, nid: int, event: Event) -> None:
        this = ref(nid, event)
        if state.voided:
            self._violation(state, "refund_after_void", "", state.void_ref, this)
        self._check_within_capture(state, event.amount, this)

    def _check_within_capture(self, state: _Audited, amount: int, this: int) -> None:
        gone = state.refunded + state.dispute_lost + amount
        if gone > state.captured:
            self._violation(
                state,
                "refund_exceeds_captured",
                f"refunds and lost disputes reach {gone} of {state.captured} captured",
                state.capture_ref,
                this,
            )

    def _dispute(self, state: _Audited, nid: int, event: Event) -> None:
        this = ref(nid, event)
        if not state.is_captured or state.voided:
            self._violation(state, "dispute_without_capture", "", state.void_ref, this)
        elif isinstance(event, PaymentCollection.DisputeOpened):
            self._check_within_capture(state, event.amount, this)

    def _void(self, state: _Audited, nid: int, event: Event) -> None:
        this = ref(nid, event)
        if state.is_captured:
            self._violation(state, "void_after_capture", "", state.capture_ref, this)
        state.void_ref = this

    # --- the view, and the end ------------------------------------------------------------------

    def compare_view(self, totals: Iterable[ViewTotal]) -> None:
        """Compare the view's sums (ordered by order) with the events folded so far."""
        order_id: UUID | None = None
        rows: list[ViewTotal] = []
        for row in totals:
            if row.order_id != order_id and rows:
                self._compare_order(rows)
                rows = []
            order_id = row.order_id
            rows.append(row)
        if rows:
            self._compare_order(rows)
        for state in self._states.values():
            if state.kinds is not None and not state.view_seen:
                self._violation(
                    state,
                    "view_differs",
                    f"the view has no movements; events: {_describe(_per_kind(state))}",
                )

    def _compare_order(self, rows: list[ViewTotal]) -> None:
        order_id = rows[0].order_id
        state = self._states.get(payment_collection_id_for(order_id))
        if state is None:
            state = _Audited(order_id, payment_collection_id_for(order_id))
        state.view_seen = True
        in_view = {row.kind: (row.count, row.amount) for row in rows}
        in_events = _per_kind(state)
        currencies = {row.currency for row in rows}
        if in_view != in_events or (state.currency and currencies != {state.currency}):
            self._violation(
                state,
                "view_differs",
                f"view: {_describe(in_view)} {','.join(sorted(currencies))}; "
                f"events: {_describe(in_events)} {state.currency}",
            )

    def finish(self, *, head: int, view_position: int | None) -> VerifyReport:
        """The checks that need the whole history; then the report."""
        orders = collections = 0
        for key in self._unsynced:
            self._amount_differs(self._states[key])
        self._unsynced.clear()
        for state in self._states.values():
            orders += state.has_order
            collections += state.has_payment
            if state.has_order and not state.has_payment:
                self._violation(state, "order_without_collection", "", state.total_ref)
            if not state.has_order and (state.has_payment or state.kinds):
                self._violation(state, "collection_without_order", "", state.amount_ref)
            if (
                state.entries_authorized != state.authorized
                or state.entries_captured != state.captured
                or state.entries_refunded != state.refunded
            ):
                self._violation(
                    state,
                    "entries_differ_from_totals",
                    f"entries {state.entries_authorized}/{state.entries_captured}/"
                    f"{state.entries_refunded}, totals {state.authorized}/{state.captured}/"
                    f"{state.refunded} (authorized/captured/refunded)",
                    state.auth_ref,
                    state.capture_ref,
                )
            due = state.capture_due_at
            if (
                due is not None
                and due < self.now
                and not (state.is_captured or state.voided or state.capture_failed)
            ):
                self._violation(
                    state, "capture_overdue", f"due at {due.isoformat()}", state.due_ref
                )
        return VerifyReport(
            head=head,
            events=self.events,
            orders=orders,
            collections=collections,
            view_position=view_position,
            summary=self.summary.as_dict(),
            violations=dict(self.violations),
        )


def _describe(per_kind: dict[str, tuple[int, int]]) -> str:
    return ", ".join(f"{k} {n}×={s}" for k, (n, s) in sorted(per_kind.items())) or "none"


def _per_kind(state: _Audited) -> dict[str, tuple[int, int]]:
    """(count, sum) of each kind of movement the events made, for the view's comparison."""
    kinds = state.kinds
    if kinds is None:
        return {}
    return {k: (kinds[2 * i], kinds[2 * i + 1]) for i, k in enumerate(KINDS) if kinds[2 * i]}


_CHECKS: dict[type, Callable[[Verifier, _Audited, int, Event], None]] = {
    Order.Placed: Verifier._placed,
    Order.LineItemAdded: Verifier._order_change,
    Order.LineItemQuantityChanged: Verifier._order_change,
    Order.LineItemRemoved: Verifier._order_change,
    Order.Changed: Verifier._order_changed,
    PaymentCollection.Created: Verifier._amount_set,
    PaymentCollection.AmountChanged: Verifier._amount_set,
    PaymentCollection.Authorized: Verifier._authorization,
    PaymentCollection.AuthorizationIncreased: Verifier._authorization,
    PaymentCollection.SupplementaryAuthorized: Verifier._authorization,
    PaymentCollection.CaptureScheduled: Verifier._scheduled,
    PaymentCollection.CaptureSucceeded: Verifier._capture,
    PaymentCollection.Refunded: Verifier._refund,
    PaymentCollection.Voided: Verifier._void,
    PaymentCollection.DisputeOpened: Verifier._dispute,
    PaymentCollection.DisputeClosed: Verifier._dispute,
}


Progress = Callable[[int, int], None]  # (position reached, head)


def verify_store(
    store: EventStore,
    view: TransactionsView | None,
    *,
    now: datetime,
    on_violation: Callable[[Violation], None],
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
) -> VerifyReport:
    """Replay every order and collection in the store and check it; see the module doc."""
    verifier = Verifier(now=now, on_violation=on_violation)
    snapshots = view.snapshot() if view is not None else nullcontext(None)
    with fewer_collections(), snapshots as snapshot:
        stop = head(store)
        at_view = snapshot.position if snapshot is not None else stop
        stop = max(stop, at_view)
        _fold(store, verifier, 1, at_view, stop, page_size, progress)
        if snapshot is not None:
            verifier.compare_view(snapshot.totals)
    with fewer_collections():
        _fold(store, verifier, at_view + 1, stop, stop, page_size, progress)
    return verifier.finish(head=stop, view_position=_position(snapshot))


def _position(snapshot: ViewSnapshot | None) -> int | None:
    return snapshot.position if snapshot is not None else None


def _fold(
    store: EventStore,
    verifier: Verifier,
    start: int,
    stop: int,
    head: int,
    page_size: int,
    progress: Progress | None,
) -> None:
    for position, page in read_log(
        store, start=start, stop=stop, topics=MONEY_TOPICS, page_size=page_size
    ):
        verifier.feed(page)
        verifier.page_done(position)
        if progress is not None:
            progress(position, head)
