"""Reads of one thing by its id, on the storefront's asyncio pool (``queries.ports.ReadsById``),
and the customer's order token checked against the ledger (``queries.ports.OrderAccess``)."""

from typing import TYPE_CHECKING, Any
from uuid import UUID

from commands.errors import NotFound
from commands.order_changes import authorize_customer
from commands.services import Services
from infra.database import conninfo
from infra.health_metrics import ViewWaiters
from infra.read_replicas import STANDBY_POLL
from infra.storefront_reads import AsyncStorefrontReads
from infra.view_positions import FALLBACK_POLL, PostgresViewPositions
from infra.view_store import VIEWS

if TYPE_CHECKING:
    from fastapi import FastAPI

    from infra.container import Container

Row = dict[str, Any]

ADMIN_ORDER = f"SELECT * FROM {VIEWS}.admin_orders WHERE order_id = %s"
ORDER_TRANSACTIONS = (
    f"SELECT * FROM {VIEWS}.order_transactions WHERE order_id = %s ORDER BY created_at, id"
)
# What the storefront's order summary shows, no more (as by PaymentIntent).
STOREFRONT_ORDER = (
    "SELECT order_id, status, payment_status, currency, items, subtotal, shipping_total, "
    "tax_total, total, placed_at, editable_until "
    f"FROM {VIEWS}.storefront_orders WHERE order_id = %s"
)
INVENTORY_LEVEL = f"SELECT * FROM {VIEWS}.inventory_levels WHERE level_id = %s"
REVIEW = f"SELECT * FROM {VIEWS}.reviews WHERE review_id = %s"


class AsyncReadsById:
    def __init__(self, reads: AsyncStorefrontReads) -> None:
        self._reads = reads

    async def _one(self, query: str, key: UUID) -> Row | None:
        rows = await self._reads.rows(query, (key,))
        return rows[0] if rows else None

    async def admin_order(self, order_id: UUID) -> Row | None:
        return await self._one(ADMIN_ORDER, order_id)

    async def order_transactions(self, order_id: UUID) -> list[Row]:
        return await self._reads.rows(ORDER_TRANSACTIONS, (order_id,))

    async def storefront_order(self, order_id: UUID) -> Row | None:
        return await self._one(STOREFRONT_ORDER, order_id)

    async def inventory_level(self, level_id: UUID) -> Row | None:
        return await self._one(INVENTORY_LEVEL, level_id)

    async def review(self, review_id: UUID) -> Row | None:
        return await self._one(REVIEW, review_id)


class LedgerOrderAccess:
    """The token rule of the order changes (one home: ``authorize_customer``)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def allows(self, order_id: UUID, token: str | None) -> bool:
        try:
            authorize_customer(self._services, order_id, token)
        except NotFound:
            return False
        return True


def attach_reads_by_id(
    app: "FastAPI", container: "Container", storefront: AsyncStorefrontReads
) -> PostgresViewPositions:
    """Reads by id, the views' positions (listening from now on) and the order token check,
    on ``app.state``; the caller closes the positions it returns."""
    recorder: Any = container.ledger.recorder
    positions = PostgresViewPositions(
        storefront,
        conninfo(container.database_url),
        events_table=(recorder.datastore.schema, recorder.events_table_name),
        max_waiters=container.settings.view_waiters_max,
        wait_seconds=container.settings.view_wait_seconds,
        # A standby gets no NOTIFY: after the primary's, look again at this pace.
        fallback_poll=STANDBY_POLL if storefront.standbys is not None else FALLBACK_POLL,
    )
    positions.start()
    metrics = getattr(app.state, "metrics", None)
    if metrics is not None:
        metrics.registry.register(ViewWaiters(lambda: positions.waiting))
    app.state.view_positions = positions
    app.state.reads_by_id = AsyncReadsById(storefront)
    app.state.order_access = LedgerOrderAccess(container.services)
    return positions
