"""The Order aggregate: line items, shipping, tax and totals, status, grace-period end."""

from datetime import datetime
from typing import Any, Final
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import OrderNotEditable, OrderStateConflict, TooManyChanges, UnknownLineItem
from domain.ids import order_id_for
from domain.lines import Line, LineData, Shipping, ShippingData, Totals, totals_of
from domain.money import Money
from domain.quantity import check_line_quantity

MAX_LINES: Final = 100
# Each change during the grace period is a few events; past this many the order stops
# taking changes (a real customer makes a handful; a script would grow it for ever).
MAX_ORDER_CHANGES: Final = 500

PLACED: Final = "placed"
CAPTURED: Final = "captured"
CANCELED: Final = "canceled"


class Order(Aggregate):
    """A customer's order, placed when its payment is authorized.

    Totals are computed here from the prices and rates the order carries, which the
    application took from the catalog; a client never supplies a price.
    """

    class Placed(Aggregate.Created):
        cart_id: str
        payment_intent_id: str
        region_id: str
        sales_channel_id: str
        currency: str
        email: str
        shipping_address: dict[str, Any] | None
        lines: list[LineData]
        shipping: ShippingData | None
        editable_until: datetime
        access_token_hash: str
        placed_by: str

    class LineItemAdded(Aggregate.Event):
        line: LineData
        changed_by: str

        def apply(self, order: "Order") -> None:
            order.lines[self.line["id"]] = Line.from_data(self.line)

    class LineItemQuantityChanged(Aggregate.Event):
        line_id: str
        quantity: int
        changed_by: str

        def apply(self, order: "Order") -> None:
            order.lines[self.line_id] = order.lines[self.line_id].with_quantity(self.quantity)

    class LineItemRemoved(Aggregate.Event):
        line_id: str
        changed_by: str
        # The variant the removed line held (a review of it is no longer a verified
        # purchase); None on removals recorded before the field existed.
        variant_id: str | None = None

        def apply(self, order: "Order") -> None:
            del order.lines[self.line_id]

    class Changed(Aggregate.Event):
        """One change during the grace period is complete (for notifications and audit)."""

        previous_total: int
        total: int
        changed_by: str

    class Captured(Aggregate.Event):
        amount: int

        def apply(self, order: "Order") -> None:
            order.status = CAPTURED

    class Canceled(Aggregate.Event):
        reason: str
        canceled_by: str

        def apply(self, order: "Order") -> None:
            order.status = CANCELED

    class AccessTokenHandedOut(Aggregate.Event):
        """The customer's access token was given in an answer (once: to the first
        ``complete``; a retry of that same request is replayed, never asked again)."""

        handed_to: str

        def apply(self, order: "Order") -> None:
            order.token_handed_out = True

    def __init__(
        self,
        cart_id: str,
        payment_intent_id: str,
        region_id: str,
        sales_channel_id: str,
        currency: str,
        email: str,
        shipping_address: dict[str, Any] | None,
        lines: list[LineData],
        shipping: ShippingData | None,
        editable_until: datetime,
        access_token_hash: str,
        placed_by: str,
    ) -> None:
        self.cart_id = cart_id
        self.payment_intent_id = payment_intent_id
        self.region_id = region_id
        self.sales_channel_id = sales_channel_id
        self.currency = currency
        self.email = email
        self.shipping_address = shipping_address
        self.lines: dict[str, Line] = {d["id"]: Line.from_data(d) for d in lines}
        self.shipping = Shipping.from_data(shipping) if shipping else None
        self.editable_until = editable_until
        self.access_token_hash = access_token_hash
        self.placed_by = placed_by
        self.status = PLACED
        self.token_handed_out = False

    @classmethod
    def place(
        cls,
        *,
        cart_id: str,
        payment_intent_id: str,
        region_id: str,
        sales_channel_id: str,
        currency: str,
        email: str,
        shipping_address: dict[str, Any] | None,
        lines: list[Line],
        shipping: Shipping | None,
        editable_until: datetime,
        access_token_hash: str,
        placed_by: str,
        now: datetime,
    ) -> "Order":
        """Place the order for an authorized PaymentIntent (the id follows from it)."""
        if not lines:
            raise OrderStateConflict("An order needs at least one line item.")
        if len(lines) > MAX_LINES:
            raise OrderStateConflict(f"An order has at most {MAX_LINES} line items.")
        if len({line.id for line in lines}) != len(lines):
            raise OrderStateConflict("Line item ids must be unique within an order.")
        for line in lines:
            line.check(currency)
        if shipping is not None:
            shipping.check(currency)
        return cls._create(
            cls.Placed,
            id=order_id_for(payment_intent_id),
            timestamp=now,
            cart_id=cart_id,
            payment_intent_id=payment_intent_id,
            region_id=region_id,
            sales_channel_id=sales_channel_id,
            currency=currency,
            email=email,
            shipping_address=shipping_address,
            lines=[line.to_data() for line in lines],
            shipping=shipping.to_data() if shipping else None,
            editable_until=editable_until,
            access_token_hash=access_token_hash,
            placed_by=placed_by,
        )

    # --- totals (integers of the currency's minor unit) -----------------------------

    @property
    def totals(self) -> Totals:
        return totals_of(self.lines.values(), self.shipping)

    @property
    def subtotal(self) -> int:
        return self.totals.subtotal

    @property
    def shipping_total(self) -> int:
        return self.totals.shipping_total

    @property
    def tax_total(self) -> int:
        return self.totals.tax_total

    @property
    def total(self) -> int:
        return self.totals.total

    @property
    def total_money(self) -> Money:
        return Money(self.total, self.currency)

    # --- changes during the grace period --------------------------------------------

    def add_line(self, line: Line, *, changed_by: str, now: datetime) -> None:
        self._check_editable(now)
        self._check_change_budget()
        line.check(self.currency)
        if line.id in self.lines:
            raise OrderStateConflict(f"Line item {line.id} exists already.")
        if len(self.lines) >= MAX_LINES:
            raise OrderStateConflict(f"An order has at most {MAX_LINES} line items.")
        self.trigger_event(
            self.LineItemAdded, timestamp=now, line=line.to_data(), changed_by=changed_by
        )

    def change_quantity(
        self, line_id: str, quantity: int, *, changed_by: str, now: datetime
    ) -> None:
        """Set a line's quantity; 0 removes the line (an order keeps at least one)."""
        self._check_editable(now)
        self._check_change_budget()
        line = self.line(line_id)
        if type(quantity) is not int:
            check_line_quantity(quantity)
        if quantity == 0:
            if len(self.lines) == 1:
                raise OrderStateConflict(
                    "The last line item cannot be removed; cancel the order instead."
                )
            self.trigger_event(
                self.LineItemRemoved,
                timestamp=now,
                line_id=line_id,
                changed_by=changed_by,
                variant_id=line.variant_id,
            )
            return
        check_line_quantity(quantity)
        if quantity != line.quantity:
            self.trigger_event(
                self.LineItemQuantityChanged,
                timestamp=now,
                line_id=line_id,
                quantity=quantity,
                changed_by=changed_by,
            )

    def record_change(self, previous_total: int, *, changed_by: str, now: datetime) -> None:
        """Close a change: the lines moved from ``previous_total`` to the current total."""
        self.trigger_event(
            self.Changed,
            timestamp=now,
            previous_total=previous_total,
            total=self.total,
            changed_by=changed_by,
        )

    def line(self, line_id: str) -> Line:
        try:
            return self.lines[line_id]
        except KeyError:
            raise UnknownLineItem(f"Order has no line item {line_id}.") from None

    def check_editable(self, now: datetime) -> None:
        """Raise ``OrderNotEditable`` with the reason, unless the order may still change."""
        self._check_editable(now)

    def is_editable(self, now: datetime) -> bool:
        return self.status == PLACED and now < self.editable_until

    def _check_change_budget(self) -> None:
        if self.version >= MAX_ORDER_CHANGES:
            raise TooManyChanges(
                f"An order takes at most {MAX_ORDER_CHANGES} changes; "
                "contact the shop to change it further."
            )

    def _check_editable(self, now: datetime) -> None:
        if self.status != PLACED:
            raise OrderNotEditable(f"The order is {self.status}; it can no longer change.")
        if now >= self.editable_until:
            raise OrderNotEditable("The order's grace period has ended; it can no longer change.")

    # --- payment outcome ------------------------------------------------------------

    def mark_captured(self, amount: int, *, now: datetime) -> None:
        if self.status == CAPTURED:
            return
        if self.status != PLACED:
            raise OrderStateConflict(f"A {self.status} order cannot be captured.")
        self.trigger_event(self.Captured, timestamp=now, amount=amount)

    def cancel(self, reason: str, *, canceled_by: str, now: datetime) -> None:
        if self.status == CANCELED:
            return
        if self.status != PLACED:
            raise OrderStateConflict(f"A {self.status} order cannot be canceled.")
        self.trigger_event(self.Canceled, timestamp=now, reason=reason, canceled_by=canceled_by)

    # --- the customer's access token ------------------------------------------------

    def hand_out_token(self, *, to: str, now: datetime) -> bool:
        """Record that the access token goes out now; False when it went out before."""
        if self.token_handed_out:
            return False
        self.trigger_event(self.AccessTokenHandedOut, timestamp=now, handed_to=to)
        return True

    @property
    def placed_at(self) -> datetime:
        return self.created_on

    @staticmethod
    def id_for(payment_intent_id: str) -> UUID:
        return order_id_for(payment_intent_id)
