"""Dependencies of the read routers."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response

from queries.ports import ReadModels


# Dependencies that only read app.state are coroutines: FastAPI runs a plain function
# dependency in its thread pool, a hop that cost more than the lookup.
async def get_read_models(request: Request) -> ReadModels:
    models: ReadModels = request.app.state.read_models
    return models


ReadModelsDep = Annotated[ReadModels, Depends(get_read_models)]
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
