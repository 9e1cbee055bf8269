"""Every projection the ledger keeps, by name."""

from projections.backorders import BackordersProjector
from projections.base import Projector
from projections.capture_schedule import CaptureScheduleProjector
from projections.files import ProductImagesProjector, ReviewPhotosProjector, StoredFilesProjector
from projections.inventory_availability import InventoryAvailabilityProjector
from projections.order_transactions import OrderTransactionsProjector
from projections.orders import AdminOrdersProjector, StorefrontOrdersProjector
from projections.reviews import ReviewsProjector


def all_projectors() -> list[Projector]:
    """Fresh projector instances (they keep per-batch state)."""
    return [
        StorefrontOrdersProjector(),
        AdminOrdersProjector(),
        OrderTransactionsProjector(),
        InventoryAvailabilityProjector(),
        CaptureScheduleProjector(),
        ReviewsProjector(),
        BackordersProjector(),
        StoredFilesProjector(),
        ProductImagesProjector(),
        ReviewPhotosProjector(),
    ]
