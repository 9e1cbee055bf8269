"""What each e-mail says, as plain text and as HTML.

Amounts are shown in major units with the currency (``25.00 EUR``). Every value is
HTML-escaped in one place (``Message.html``). No e-mail carries a secret: no
access token, no client secret, no key — only what the recipient already knows or
needs.
"""

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.inventory_level import InventoryLevel
from domain.money import Money
from domain.order import Order
from domain.payment_collection import PaymentCollection

SHOP = "orderledger"

# An error text from a payment provider is passed on to ops; anything shaped like a
# key or a client secret is cut out first.
_SECRET_SHAPES = re.compile(r"\b(?:sk|rk|pk|whsec|re)_[A-Za-z0-9_]{6,}|_secret_[A-Za-z0-9]+")


def scrub(text: str) -> str:
    return _SECRET_SHAPES.sub("[redacted]", text)


@dataclass(frozen=True)
class Message:
    subject: str
    intro: str
    rows: tuple[tuple[str, str], ...] = ()
    outro: str = ""

    def text(self) -> str:
        parts = [self.intro]
        if self.rows:
            width = max(len(label) for label, _ in self.rows)
            values = max(len(value) for _, value in self.rows)
            parts.append(
                "\n".join(
                    f"{label.ljust(width)}  {value.rjust(values)}" for label, value in self.rows
                )
            )
        if self.outro:
            parts.append(self.outro)
        parts.append(f"— {SHOP}")
        return "\n\n".join(parts) + "\n"

    def html(self) -> str:
        e = html.escape
        rows = "".join(
            f'<tr><td>{e(label)}</td><td style="text-align:right">{e(value)}</td></tr>'
            for label, value in self.rows
        )
        table = f"<table>{rows}</table>" if rows else ""
        outro = f"<p>{e(self.outro)}</p>" if self.outro else ""
        return (
            f'<!doctype html><html><head><meta charset="utf-8"></head><body>'
            f"<p>{e(self.intro)}</p>{table}{outro}"
            f"<p>— {e(SHOP)}</p></body></html>"
        )


def _money(amount: int, currency: str) -> str:
    return f"{Money(amount, currency).to_major()} {currency.upper()}"


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M %Z").strip()


def _ref(order_id: UUID) -> str:
    return str(order_id)[:8].upper()


def _order_rows(order: Order) -> Iterable[tuple[str, str]]:
    money = order.currency
    for line in order.lines.values():
        yield f"{line.quantity} × {line.title}", _money(line.subtotal, money)
    yield "Subtotal", _money(order.subtotal, money)
    if order.shipping is not None:
        yield f"Shipping ({order.shipping.name})", _money(order.shipping_total, money)
    yield "Tax", _money(order.tax_total, money)
    yield "Total", _money(order.total, money)


def order_confirmation(order: Order) -> Message:
    return Message(
        subject=f"Your order {_ref(order.id)} is confirmed",
        intro=f"Thank you for your order {order.id}. Your payment is authorized.",
        rows=tuple(_order_rows(order)),
        outro=(
            f"The order can still be changed until {_when(order.editable_until)}; "
            "your card is charged after that."
        ),
    )


def order_changed(order: Order, previous_total: int) -> Message:
    return Message(
        subject=f"Your order {_ref(order.id)} was changed",
        intro=(
            f"Your order {order.id} was changed. Its total went from "
            f"{_money(previous_total, order.currency)} to {_money(order.total, order.currency)}."
        ),
        rows=tuple(_order_rows(order)),
    )


def payment_receipt(order: Order, payment: PaymentCollection, amount: int) -> Message:
    return Message(
        subject=f"Receipt for your order {_ref(order.id)}",
        intro=f"We have charged {_money(amount, payment.currency)} for your order {order.id}.",
        rows=(*_order_rows(order), ("Charged", _money(amount, payment.currency))),
    )


def refund_issued(order: Order, payment: PaymentCollection, amount: int) -> Message:
    return Message(
        subject=f"Refund for your order {_ref(order.id)}",
        intro=(
            f"We have refunded {_money(amount, payment.currency)} for your order {order.id}. "
            "It can take a few days to reach your account."
        ),
        rows=(
            ("Refunded now", _money(amount, payment.currency)),
            ("Refunded in all", _money(payment.refunded, payment.currency)),
            ("Charged", _money(payment.captured, payment.currency)),
        ),
    )


def backorder_alert(level: InventoryLevel, shortfall: int, order_id: str) -> Message:
    return Message(
        subject=f"Backorder: {level.item_id} at {level.location_id}",
        intro=(
            f"Order {order_id} reserved more of {level.item_id} at {level.location_id} "
            f"than is in stock: short by {shortfall}."
        ),
        rows=(
            ("Stocked", str(level.stocked)),
            ("Reserved", str(level.reserved)),
            ("Available", str(level.available)),
        ),
        outro="Restock, or move the reservation to another location.",
    )


def capture_failure_alert(payment: PaymentCollection, reason: str, attempts: int) -> Message:
    lapses = payment.capture_before
    return Message(
        subject=f"Capture failed: order {_ref(payment.order_id)}",
        intro=(
            f"The payment for order {payment.order_id} could not be captured after "
            f"{attempts} attempts. It needs a person."
        ),
        rows=(
            ("Amount", _money(payment.amount, payment.currency)),
            ("PaymentIntent", payment.payment_intent_id),
            ("Last error", scrub(reason)),
            ("Authorization lapses", _when(lapses) if lapses else "7 days after authorization"),
        ),
    )
