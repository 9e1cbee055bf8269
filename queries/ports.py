"""What the read API needs: queries over the views (implemented in ``infra``)."""

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

Row = dict[str, Any]


class StorefrontReads(Protocol):
    """The storefront's busiest reads, answered without leaving the event loop (a sync
    endpoint costs a hop to the thread pool and back on every request)."""

    async def wait_for(self, position: int, views: Sequence[str], timeout: float = 2.0) -> bool:
        """Wait (bounded) until the views have processed ``position``."""
        ...

    async def order_by_payment_intent(self, payment_intent_id: str) -> Row | None:
        """The columns of the storefront order summary, by its PaymentIntent."""
        ...

    async def product_on_sale(
        self, product_id: str, sales_channel_id: str | None
    ) -> tuple[Row, dict[str, int]] | None:
        """A product with its variants, and their availability (as ``availability``),
        read together in one statement; None when there is no such product."""
        ...

    async def product_page(
        self, product_id: str, sales_channel_id: str | None
    ) -> tuple[Row, dict[str, int], list[Row]] | None:
        """``product_on_sale`` and the product's images as its gallery keeps them
        (``queries.images.images_from`` turns them into URLs), in the same statement."""
        ...


class ReadModels(Protocol):
    def wait_for(self, position: int, views: Sequence[str], timeout: float = 2.0) -> bool:
        """Wait (bounded) until the views have processed ``position``."""
        ...

    def admin_orders(
        self, *, status: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]: ...

    def admin_order(self, order_id: UUID) -> Row | None: ...

    def order_transactions(self, order_id: UUID) -> list[Row]: ...

    def inventory_levels(self, variant_id: str | None) -> list[Row]: ...

    def products(self, *, limit: int, offset: int) -> list[Row]: ...

    def product(self, product_id: str) -> Row | None: ...

    def availability(
        self, variant_ids: Sequence[str], sales_channel_id: str | None
    ) -> dict[str, int]:
        """Units per variant summed over the channel's locations (all locations if None)."""
        ...

    def projections(self) -> list[Row]: ...

    def backorders(self, *, limit: int, offset: int) -> list[Row]:
        """Shortfalls recorded on backorder-enabled levels, newest first."""
        ...

    def authorizations_near_expiry(self, within_hours: int) -> list[Row]:
        """Uncaptured authorizations that lapse within the given hours (7 days if Stripe is silent)."""
        ...

    def reviews(
        self, *, product_id: str | None, status: str | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """Reviews (newest first) and how many match, by product and/or moderation status."""
        ...

    def rating_distribution(self, product_id: str) -> dict[int, int]:
        """Approved reviews of the product by rating (only ratings that occur)."""
        ...

    def notifications(
        self, *, status: str | None, order_id: UUID | None, limit: int, offset: int
    ) -> tuple[list[Row], int]:
        """The e-mail delivery log (newest first) and how many rows match."""
        ...


class ViewPositions(Protocol):
    """Where the views are in the log, and waiting for them without holding a thread."""

    async def wait_for(
        self, position: int, views: Sequence[str], timeout: float | None = None
    ) -> bool:
        """True once every named view has processed ``position``; False when ``timeout``
        (the configured wait when None) runs out first. Raises ``PositionBeyondHead`` for a position past the log's head
        and ``TooManyWaiting`` when the process already has as many waiters as it admits."""
        ...

    async def last_position_of(self, aggregate_ids: Sequence[UUID]) -> int | None:
        """The notification id of the latest event of any of these aggregates; None when
        the ledger holds none of them (one index probe per id)."""
        ...


class ReadsById(Protocol):
    """Reads of one thing by its id, on the event loop (each a single indexed lookup)."""

    async def admin_order(self, order_id: UUID) -> Row | None: ...

    async def order_transactions(self, order_id: UUID) -> list[Row]: ...

    async def storefront_order(self, order_id: UUID) -> Row | None:
        """The columns of the storefront order summary, by the order's id."""
        ...

    async def inventory_level(self, level_id: UUID) -> Row | None: ...

    async def review(self, review_id: UUID) -> Row | None: ...


class OrderAccess(Protocol):
    """Whether a customer's order token opens an order (checked against the ledger)."""

    def allows(self, order_id: UUID, token: str | None) -> bool: ...
