"""The Cart aggregate: what a customer means to buy, before any price is fixed.

A cart holds variant ids and quantities only; prices, tax and totals are read from
the catalog by the application whenever the cart is shown or paid.
"""

from datetime import datetime
from typing import Final, TypedDict
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import CartStateConflict, TooManyChanges, UnknownLineItem
from domain.quantity import check_line_quantity

MAX_CART_LINES: Final = 100
# Every change is an event; a cart is a few dozen in real use. Past this many, an
# anonymous client is growing one stream for ever: it must start a new cart.
MAX_CART_CHANGES: Final = 1_000

# PaymentIntent statuses in which the customer has not paid yet (the cart may change).
PAYABLE_STATUSES: Final = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action"}
)


class CartLine(TypedDict):
    id: str
    variant_id: str
    quantity: int


class Cart(Aggregate):
    # A class default, so carts started (or snapshotted) before billing addresses existed load.
    billing_address: dict[str, str] | None = None

    class Created(Aggregate.Created):
        region_id: str
        sales_channel_id: str
        currency: str
        email: str
        shipping_address: dict[str, str] | None

    class LineItemAdded(Aggregate.Event):
        line_id: str
        variant_id: str
        quantity: int

        def apply(self, cart: "Cart") -> None:
            cart.lines[self.line_id] = CartLine(
                id=self.line_id, variant_id=self.variant_id, quantity=self.quantity
            )

    class LineItemQuantityChanged(Aggregate.Event):
        line_id: str
        quantity: int

        def apply(self, cart: "Cart") -> None:
            cart.lines[self.line_id]["quantity"] = self.quantity

    class LineItemRemoved(Aggregate.Event):
        line_id: str

        def apply(self, cart: "Cart") -> None:
            del cart.lines[self.line_id]

    class ShippingMethodChosen(Aggregate.Event):
        shipping_option_id: str

        def apply(self, cart: "Cart") -> None:
            cart.shipping_option_id = self.shipping_option_id

    class PaymentSessionStarted(Aggregate.Event):
        payment_intent_id: str
        amount: int
        # The PaymentIntent's status as Stripe answered (absent from older events).
        status: str = ""

        def apply(self, cart: "Cart") -> None:
            cart.payment_intent_id = self.payment_intent_id
            cart.payment_amount = self.amount
            cart.payment_status = self.status or None
            if self.payment_intent_id not in cart.payment_intent_ids:
                cart.payment_intent_ids.append(self.payment_intent_id)

    class PaymentStatusSeen(Aggregate.Event):
        """Stripe told us (a webhook, or the answer to our own call) the intent's state."""

        payment_intent_id: str
        status: str
        amount: int

        def apply(self, cart: "Cart") -> None:
            if self.payment_intent_id == cart.payment_intent_id:
                cart.payment_status = self.status
                cart.payment_amount = self.amount

    class DetailsChanged(Aggregate.Event):
        """Who the cart is for and where it goes (a storefront fills these in at checkout)."""

        email: str
        shipping_address: dict[str, str] | None
        billing_address: dict[str, str] | None

        def apply(self, cart: "Cart") -> None:
            cart.email = self.email
            cart.shipping_address = self.shipping_address
            cart.billing_address = self.billing_address

    class Completed(Aggregate.Event):
        order_id: str
        payment_intent_id: str

        def apply(self, cart: "Cart") -> None:
            cart.completed_order_id = self.order_id
            cart.completed_payment_intent_id = self.payment_intent_id

    def __init__(
        self,
        region_id: str,
        sales_channel_id: str,
        currency: str,
        email: str,
        shipping_address: dict[str, str] | None,
    ) -> None:
        self.region_id = region_id
        self.sales_channel_id = sales_channel_id
        self.currency = currency
        self.email = email
        self.shipping_address = shipping_address
        self.lines: dict[str, CartLine] = {}
        self.shipping_option_id: str | None = None
        self.payment_intent_id: str | None = None
        self.payment_amount: int | None = None
        # The last status of the current PaymentIntent Stripe told us, and every
        # PaymentIntent this cart ever started (the only ones it may be paid with).
        self.payment_status: str | None = None
        self.payment_intent_ids: list[str] = []
        self.completed_order_id: str | None = None
        self.completed_payment_intent_id: str | None = None

    @classmethod
    def start(
        cls,
        *,
        cart_id: UUID,
        region_id: str,
        sales_channel_id: str,
        currency: str,
        email: str,
        shipping_address: dict[str, str] | None = None,
        now: datetime,
    ) -> "Cart":
        return cls._create(
            cls.Created,
            id=cart_id,
            timestamp=now,
            region_id=region_id,
            sales_channel_id=sales_channel_id,
            currency=currency,
            email=email,
            shipping_address=shipping_address,
        )

    @property
    def is_completed(self) -> bool:
        return self.completed_order_id is not None

    @property
    def is_paid_for(self) -> bool:
        """Whether, as far as Stripe told us, the customer authorized (or paid) the intent."""
        return _paid_for(self.payment_status)

    def started_payment(self, payment_intent_id: str) -> bool:
        """Whether this cart started ``payment_intent_id`` (now or before a newer one)."""
        return payment_intent_id in self.payment_intent_ids

    def add_line(self, *, line_id: str, variant_id: str, quantity: int, now: datetime) -> str:
        """Add a variant; a variant already in the cart has its quantity raised instead.

        Returns the id of the line that holds the variant.
        """
        self._check_open()
        check_line_quantity(quantity)
        for line in self.lines.values():
            if line["variant_id"] == variant_id:
                self.change_quantity(line["id"], line["quantity"] + quantity, now=now)
                return line["id"]
        if line_id in self.lines:
            raise CartStateConflict(f"Line item {line_id} exists already.")
        if len(self.lines) >= MAX_CART_LINES:
            raise CartStateConflict(f"A cart holds at most {MAX_CART_LINES} line items.")
        self.trigger_event(
            self.LineItemAdded,
            timestamp=now,
            line_id=line_id,
            variant_id=variant_id,
            quantity=quantity,
        )
        return line_id

    def change_quantity(self, line_id: str, quantity: int, *, now: datetime) -> None:
        """Set a line's quantity; 0 removes it."""
        self._check_open()
        if line_id not in self.lines:
            raise UnknownLineItem(f"Cart has no line item {line_id}.")
        if type(quantity) is not int:
            check_line_quantity(quantity)
        if quantity == 0:
            self.trigger_event(self.LineItemRemoved, timestamp=now, line_id=line_id)
            return
        check_line_quantity(quantity)
        if quantity != self.lines[line_id]["quantity"]:
            self.trigger_event(
                self.LineItemQuantityChanged, timestamp=now, line_id=line_id, quantity=quantity
            )

    def change_details(
        self,
        *,
        email: str,
        shipping_address: dict[str, str] | None,
        billing_address: dict[str, str] | None,
        now: datetime,
    ) -> None:
        """Set the e-mail and addresses at once (unchanged values record nothing)."""
        self._check_open()
        wanted = (email, shipping_address, billing_address)
        if wanted != (self.email, self.shipping_address, self.billing_address):
            self.trigger_event(
                self.DetailsChanged,
                timestamp=now,
                email=email,
                shipping_address=shipping_address,
                billing_address=billing_address,
            )

    def choose_shipping(self, shipping_option_id: str, *, now: datetime) -> None:
        self._check_open()
        if shipping_option_id != self.shipping_option_id:
            self.trigger_event(
                self.ShippingMethodChosen, timestamp=now, shipping_option_id=shipping_option_id
            )

    def start_payment_session(
        self, payment_intent_id: str, amount: int, *, status: str = "", now: datetime
    ) -> None:
        self.check_ready_for_payment()
        if (payment_intent_id, amount, status or None) != (
            self.payment_intent_id,
            self.payment_amount,
            self.payment_status,
        ):
            self.trigger_event(
                self.PaymentSessionStarted,
                timestamp=now,
                payment_intent_id=payment_intent_id,
                amount=amount,
                status=status,
            )

    def check_ready_for_payment(self) -> None:
        """Not completed, not changed too often, not empty, and someone to tell about the
        order. (A paid-for cart may ask again: its session is answered as it stands.)"""
        if self.is_completed:
            raise CartStateConflict("The cart was completed; start a new cart.")
        self._check_change_allowed()
        if not self.lines:
            raise CartStateConflict("The cart is empty.")
        if not self.email:
            raise CartStateConflict("The cart needs an e-mail address before payment.")

    def see_payment(
        self, payment_intent_id: str, *, status: str, amount: int, now: datetime
    ) -> None:
        """Record what Stripe says of the cart's current PaymentIntent, when it changes
        what the cart may do (paid for: no more changes; no longer: changes again)."""
        if self.is_completed or payment_intent_id != self.payment_intent_id:
            return
        if _paid_for(status) == self.is_paid_for:
            return
        self.trigger_event(
            self.PaymentStatusSeen,
            timestamp=now,
            payment_intent_id=payment_intent_id,
            status=status,
            amount=amount,
        )

    def complete(self, *, order_id: str, payment_intent_id: str, now: datetime) -> None:
        if self.is_completed:
            raise CartStateConflict("The cart was completed already.")
        if not self.lines:
            raise CartStateConflict("The cart is empty.")
        self.trigger_event(
            self.Completed, timestamp=now, order_id=order_id, payment_intent_id=payment_intent_id
        )

    def _check_open(self) -> None:
        """Lines and shipping may change: not completed, not paid for, not changed too often."""
        if self.is_completed:
            raise CartStateConflict("The cart was completed; start a new cart.")
        if self.is_paid_for:
            raise CartStateConflict(
                f"The cart's payment is {self.payment_status}; "
                "complete the checkout or start a new cart."
            )
        self._check_change_allowed()

    def _check_change_allowed(self) -> None:
        if self.version >= MAX_CART_CHANGES:
            raise TooManyChanges(
                f"A cart takes at most {MAX_CART_CHANGES} changes; start a new cart."
            )


def _paid_for(status: str | None) -> bool:
    return status is not None and status not in PAYABLE_STATUSES and status != "canceled"
