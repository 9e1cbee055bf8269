"""An order and its payment collection, loaded, decided on and saved together.

Every command that changes an order's money takes the order's lock, loads both
aggregates, decides, and saves; a lost race (another writer saved first) runs the
load and the decision again on the state that won.
"""

from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

from commands.errors import OrderNotFound
from commands.ledger import retry_on_conflict
from commands.services import Services
from domain.ids import payment_collection_id_for
from domain.order import Order
from domain.payment_collection import PaymentCollection

T = TypeVar("T")


def order_lock(order_id: UUID) -> str:
    """Every command that changes an order's money takes this lock."""
    return f"order:{order_id}"


def load_order_money(services: Services, order_id: UUID) -> tuple[Order, PaymentCollection]:
    """The order and its payment collection, read together; OrderNotFound if either is missing."""
    payment_id = payment_collection_id_for(order_id)
    found = services.ledger.get_all(order_id, payment_id)
    order, payment = found.get(order_id), found.get(payment_id)
    if not isinstance(order, Order) or not isinstance(payment, PaymentCollection):
        raise OrderNotFound(f"There is no order {order_id}.")
    return order, payment


def load_decide_save(
    services: Services,
    order_id: UUID,
    decide: Callable[[Order, PaymentCollection], T],
) -> tuple[T, int | None]:
    """Load, ``decide`` (which triggers events on either aggregate), save both at once.

    Returns what ``decide`` returned and the position saved (None: nothing was new).
    """

    def attempt() -> tuple[T, int | None]:
        order, payment = load_order_money(services, order_id)
        decided = decide(order, payment)
        return decided, services.ledger.save_all(order, payment)

    return retry_on_conflict(attempt)
