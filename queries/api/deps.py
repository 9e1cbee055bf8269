"""Dependencies of the read routers."""

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from queries.ports import OrderAccess, ReadModels, ReadsById, StorefrontReads, ViewPositions


# Dependencies that only read app.state are coroutines: FastAPI runs a plain function
# dependency in its thread pool, a hop that cost more than the lookup.
async def get_read_models(request: Request) -> ReadModels:
    models: ReadModels = request.app.state.read_models
    return models


async def get_storefront_reads(request: Request) -> StorefrontReads:
    reads: StorefrontReads = request.app.state.storefront_reads
    return reads


async def get_view_positions(request: Request) -> ViewPositions:
    positions: ViewPositions = request.app.state.view_positions
    return positions


async def get_reads_by_id(request: Request) -> ReadsById:
    reads: ReadsById = request.app.state.reads_by_id
    return reads


async def get_order_access(request: Request) -> OrderAccess:
    access: OrderAccess = request.app.state.order_access
    return access


ReadModelsDep = Annotated[ReadModels, Depends(get_read_models)]
StorefrontReadsDep = Annotated[StorefrontReads, Depends(get_storefront_reads)]
ViewPositionsDep = Annotated[ViewPositions, Depends(get_view_positions)]
ReadsByIdDep = Annotated[ReadsById, Depends(get_reads_by_id)]
OrderAccessDep = Annotated[OrderAccess, Depends(get_order_access)]
MinPosition = Annotated[
    int | None,
    Query(ge=0, le=2**62, description="Wait (up to 2 s) until the view has this notification."),
]


def caught_up_with(*views: str) -> Any:
    """A route's dependency on ``?min_position=N``: read your writes, waiting (bounded, on
    the event loop, never in a request thread) until the views have processed ``N``.
    A position past the log's head is a 400; too many waiters at once, a 503."""

    async def wait(
        positions: ViewPositionsDep, response: Response, min_position: MinPosition = None
    ) -> None:
        if min_position is None:
            return
        reached = await positions.wait_for(min_position, views)
        response.headers["X-View-Caught-Up"] = "true" if reached else "false"

    return Depends(wait)
