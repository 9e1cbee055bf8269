"""Dependencies of the read routers."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response

from queries.ports import ReadModels, StorefrontReads


# Dependencies that only read app.state are coroutines: FastAPI runs a plain function
# dependency in its thread pool, a hop that cost more than the lookup.
async def get_read_models(request: Request) -> ReadModels:
    models: ReadModels = request.app.state.read_models
    return models


async def get_storefront_reads(request: Request) -> StorefrontReads:
    reads: StorefrontReads = request.app.state.storefront_reads
    return reads


ReadModelsDep = Annotated[ReadModels, Depends(get_read_models)]
StorefrontReadsDep = Annotated[StorefrontReads, Depends(get_storefront_reads)]
MinPosition = Annotated[
    int | None,
    Query(ge=0, le=2**62, description="Wait (up to 2 s) until the view has this notification."),
]


def caught_up(models: ReadModels, response: Response, position: int | None, *views: str) -> None:
    """Read your writes: wait for the position a command answer gave, bounded."""
    if position is None:
        return
    reached = models.wait_for(position, views)
    response.headers["X-View-Caught-Up"] = "true" if reached else "false"


async def storefront_caught_up(
    reads: StorefrontReads, response: Response, position: int | None, *views: str
) -> None:
    """``caught_up`` for the storefront's async reads."""
    if position is None:
        return
    reached = await reads.wait_for(position, views)
    response.headers["X-View-Caught-Up"] = "true" if reached else "false"
